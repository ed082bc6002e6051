"""PostgreSQL stores large message bodies and run states with LZ4 (kindling/lib/compression.py)."""

import pytest
from django.db import connection

from kindling.lib.compression import set_compression
from tests.conftest import make_job, make_trigger, post_message

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's column compression (SQLite compresses nothing)"
)

LARGE = {"observations": [{"code": f"OBS-{n:03d}", "note": f"blood pressure normal {n}"} for n in range(400)]}


def test_a_large_body_and_the_state_of_its_run_are_stored_with_lz4(project):
    make_job(project, trigger=make_trigger(project, criteria={}), enabled=True)

    message, runs = post_message(project, LARGE)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_column_compression(body) FROM inbox_message WHERE id = %s", [message.pk])
        assert cursor.fetchone()[0] == "lz4"
        cursor.execute(
            "SELECT pg_column_compression(initial_state) FROM runs_run WHERE id = %s", [runs[0].pk]
        )
        assert cursor.fetchone()[0] == "lz4"
    message.refresh_from_db()
    assert message.body == LARGE


def test_a_server_that_refuses_the_method_keeps_its_own_and_works_on(project):
    # zstd is no column compression of PostgreSQL 15: the server refuses it, as one built without LZ4
    # refuses lz4.
    assert set_compression(connection, "inbox_message", ["body"], "zstd") is False

    message, _ = post_message(project, LARGE)

    message.refresh_from_db()
    assert message.body == LARGE
