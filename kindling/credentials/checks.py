"""System check: credential bodies need a usable encryption key before anything starts."""

import binascii

from cryptography.fernet import Fernet
from django.core.checks import Error, register

from kindling.credentials import crypto


@register()
def check_encryption_keys(app_configs, **kwargs):
    where = crypto.ENV_KEY if crypto.keys_from_env() else str(crypto.key_file())
    try:
        keys = crypto.load_keys()
        for key in keys:
            Fernet(key)
    except (ValueError, binascii.Error):
        return [
            Error(
                f"An encryption key in {where} is not a Fernet key (32 url-safe base64-encoded bytes).",
                hint="`kindling credentials new-key` prints a valid one.",
                id="kindling.E030",
            )
        ]
    except OSError as exc:
        return [
            Error(
                f"The encryption key file {where} cannot be read or created: {exc.strerror}.",
                hint="Check KINDLING_DATA_DIR and its permissions, or set KINDLING_ENCRYPTION_KEY.",
                id="kindling.E031",
            )
        ]
    if not keys:
        return [
            Error(
                f"No encryption key in {where}.",
                hint="`kindling credentials new-key` prints one.",
                id="kindling.E032",
            )
        ]
    return []
