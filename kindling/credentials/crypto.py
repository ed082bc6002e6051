"""Encryption of credential bodies at rest (Fernet: AES-128-CBC with HMAC-SHA256, authenticated).

The key comes from KINDLING_ENCRYPTION_KEY (comma-separated: the first encrypts, all decrypt, which is
how a rotation keeps old rows readable) or from a key file created in the data dir on first run (one
key a line, the same order).

The cipher is rebuilt whenever the key file changes: `kindling credentials rotate-key` rewrites it
while the portal and the workers keep running, and they must pick up the new key at once, both to
read rows already re-encrypted and to stop encrypting with a key that is about to be dropped.
"""

import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

KEY_FILE_NAME = "encryption.key"
ENV_KEY = "KINDLING_ENCRYPTION_KEY"


def key_file() -> Path:
    return settings.DATA_DIR / KEY_FILE_NAME


def keys_from_env() -> list[bytes]:
    return [k.strip().encode() for k in os.environ.get(ENV_KEY, "").split(",") if k.strip()]


def write_key_file(keys: list[bytes]) -> None:
    """Replace the key file in one step (a reader sees the old file or the new one, never half of one)."""
    path = key_file()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".encryption-key-")
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp creates the file readable by its owner only
            out.write(b"".join(k + b"\n" for k in keys))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keys_from_file() -> list[bytes]:
    path = key_file()
    if not path.exists():
        write_key_file([Fernet.generate_key()])
    return [line.strip() for line in path.read_bytes().splitlines() if line.strip()]


def load_keys() -> list[bytes]:
    return keys_from_env() or keys_from_file()


def _key_source() -> tuple:
    from_env = os.environ.get(ENV_KEY, "").strip()
    if from_env:
        return ("env", from_env)
    path = key_file()
    if not path.exists():
        keys_from_file()
    stat = path.stat()
    # A rotation replaces the file (new inode), so this changes even within one mtime tick.
    return ("file", str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _cipher_for(source: tuple) -> MultiFernet:
    keys = keys_from_env() if source[0] == "env" else keys_from_file()
    if not keys:
        raise ValueError(f"no encryption key: {ENV_KEY} is empty and so is {key_file()}")
    return MultiFernet([Fernet(k) for k in keys])


def cipher() -> MultiFernet:
    return _cipher_for(_key_source())


def cipher_of(keys: list[bytes]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def encrypt_json(value) -> str:
    return cipher().encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str):
    try:
        return json.loads(cipher().decrypt(token.encode()))
    except InvalidToken:
        raise ValueError("credential body cannot be decrypted with the configured keys") from None
