"""Encryption of credential bodies at rest (Fernet: AES-128-CBC with HMAC-SHA256, authenticated).

The key comes from KINDLING_ENCRYPTION_KEY (comma-separated: the first encrypts, all decrypt, which is
how a rotation keeps old rows readable) or from a key file created in the data dir on first run.
"""

import json
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

KEY_FILE_NAME = "encryption.key"


def key_file():
    return settings.DATA_DIR / KEY_FILE_NAME


def load_keys() -> list[bytes]:
    from_env = os.environ.get("KINDLING_ENCRYPTION_KEY", "").strip()
    if from_env:
        return [k.strip().encode() for k in from_env.split(",") if k.strip()]
    path = key_file()
    if not path.exists():
        path.touch(mode=0o600)
        path.write_bytes(Fernet.generate_key() + b"\n")
    return [line.strip() for line in path.read_bytes().splitlines() if line.strip()]


@lru_cache(maxsize=1)
def cipher() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in load_keys()])


def encrypt_json(value) -> str:
    return cipher().encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str):
    try:
        return json.loads(cipher().decrypt(token.encode()))
    except InvalidToken:
        raise ValueError("credential body cannot be decrypted with the configured keys") from None
