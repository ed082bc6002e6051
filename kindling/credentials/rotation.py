"""Key rotation: re-encrypt every credential body with a new key, the old keys decrypting until it ends.

With the key file (the default) a rotation has three steps: write the file as [new, old...] (every
process now decrypts with both and encrypts with the new one), re-encrypt every row, then write the
file as [new]. With KINDLING_ENCRYPTION_KEY the operator does the first and last steps: set
`<new>,<old>` on every process, run the rotation, then drop `<old>`.
"""

from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from kindling.credentials import crypto
from kindling.credentials.models import Credential

# A row edited while we re-encrypt it is re-read and checked again; this bounds that loop.
MAX_PASSES = 10


class RotationError(Exception):
    pass


@dataclass
class Rotation:
    reencrypted: int
    source: str  # "file" or "env"


def _readable_with(fernet: Fernet, token: str) -> bool:
    try:
        fernet.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def encrypted_columns() -> list[tuple]:
    """Every (model, field) encrypted with these keys: credential bodies and inbox HMAC secrets."""
    from kindling.inbox.models import InboxAuthMethod

    return [(Credential, "body_encrypted"), (InboxAuthMethod, "secret_encrypted")]


def reencrypt_all(keys: list[bytes]) -> int:
    """Re-encrypt, with keys[0], every value that keys[0] cannot already read; returns how many."""
    return sum(reencrypt(model, field, keys) for model, field in encrypted_columns())


def reencrypt(model, field: str, keys: list[bytes]) -> int:
    primary = Fernet(keys[0])
    every_key = crypto.cipher_of(keys)
    done = 0
    for _ in range(MAX_PASSES):
        pending = [
            (pk, token)
            for pk, token in model.objects.exclude(**{field: ""}).values_list("pk", field).iterator()
            if not _readable_with(primary, token)
        ]
        if not pending:
            return done
        unreadable = []
        for pk, token in pending:
            try:
                new_token = every_key.rotate(token.encode()).decode()
            except InvalidToken:
                unreadable.append(pk)
                continue
            # Conditional on the token we read: an edit saved meanwhile wins, and the next pass checks it.
            done += model.objects.filter(pk=pk, **{field: token}).update(**{field: new_token})
        if unreadable:
            raise RotationError(
                f"{model._meta.verbose_name_plural} {', '.join(map(str, unreadable))} cannot be decrypted "
                "with any configured key; nothing was dropped: restore the key they were encrypted with and "
                "run rotate-key again"
            )
    raise RotationError(
        f"{model._meta.verbose_name_plural} kept changing during {MAX_PASSES} passes; run rotate-key again"
    )


def rotate() -> Rotation:
    env_keys = crypto.keys_from_env()
    if env_keys:
        if len(env_keys) < 2:
            raise RotationError(
                f"{crypto.ENV_KEY} holds a single key. Put a new key in front of it on every Kindling "
                f"process ({crypto.ENV_KEY}=<new>,<old>; `kindling credentials new-key` prints one), "
                "restart them, then run rotate-key again"
            )
        return Rotation(reencrypted=reencrypt_all(env_keys), source="env")
    old_keys = crypto.keys_from_file()
    new_key = Fernet.generate_key()
    crypto.write_key_file([new_key, *old_keys])
    count = reencrypt_all([new_key, *old_keys])
    crypto.write_key_file([new_key])
    return Rotation(reencrypted=count, source="file")
