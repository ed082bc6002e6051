"""Secrets of a run's credential never reach a log line, in any of the forms they travel in."""

import base64
import json
from urllib.parse import quote, quote_plus

from kindling.lib.scrub import REDACTED, Scrubber, collect_secrets


def test_it_collects_every_string_and_number_leaf_of_four_characters_or_more():
    configuration = {
        "user": "ada",
        "password": "hunter22",
        "port": 5432,
        "tls": True,
        "nested": {"keys": ["k-1234", "ab"], "pin": 1234},
    }

    assert sorted(collect_secrets(configuration)) == ["1234", "5432", "hunter22", "k-1234"]


def test_no_configuration_scrubs_nothing():
    assert Scrubber(None)("nothing to hide") == "nothing to hide"


def test_it_replaces_a_secret_in_plain_json_base64_and_url_encoded_forms():
    secret = 'p@ss "word"/ü'
    scrub = Scrubber({"password": secret})

    for form in (
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        base64.b64encode(secret.encode()).decode(),
        quote(secret, safe=""),
        quote_plus(secret),
    ):
        assert scrub(f"before {form} after") == f"before {REDACTED} after"


def test_it_replaces_the_basic_auth_header_of_username_and_password():
    scrub = Scrubber({"username": "ada", "password": "hunter22"})
    header = "Authorization: Basic " + base64.b64encode(b"ada:hunter22").decode()

    assert scrub(header) == f"Authorization: Basic {REDACTED}"


def test_the_longest_secret_wins_when_one_contains_another():
    scrub = Scrubber({"short": "abcd", "long": "abcdefgh"})

    assert scrub("abcdefgh abcd") == f"{REDACTED} {REDACTED}"
