"""Secrets kept at rest, sealed with AES-256-GCM under a key derived from the service's secret.

A TOTP secret is a shared key: whoever reads it from the database (a backup, a
dump, a stolen disk) can make codes. Sealed, the database alone is not enough;
the service's `auth.secret_key` is needed as well. Each sealed value is bound
to its purpose and owner (the associated data), so a value copied to another
row or column does not open.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1."
_NONCE_BYTES = 12
TOTP_PURPOSE = b"totp-secret"


class SealBroken(ValueError):
    """A sealed value does not open: another secret key, another owner, or not a sealed value."""


class SecretSealer:
    """Seal and open short strings for one purpose (a version prefix, a random nonce, base64url)."""

    def __init__(self, service_secret: bytes, purpose: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dutychat sealing " + purpose).derive(
            service_secret
        )
        self._aead = AESGCM(key)
        self._purpose = purpose

    def _context(self, owner: str) -> bytes:
        return self._purpose + b"\x00" + owner.encode()

    def seal(self, plain: str, owner: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode(), self._context(owner))
        return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, sealed: str, owner: str) -> str:
        if not sealed.startswith(VERSION):
            raise SealBroken("not a sealed value")
        body = sealed[len(VERSION):]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._context(owner)).decode()
        except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError):
            raise SealBroken("the value does not open with this secret key") from None


def is_sealed(value: str) -> bool:
    return value.startswith(VERSION)


def totp_sealer(service_secret: bytes) -> SecretSealer:
    return SecretSealer(service_secret, TOTP_PURPOSE)


def totp_owner(staff_id: int) -> str:
    """The associated data of a staff member's TOTP secrets (the row it belongs to)."""
    return f"staff:{staff_id}"
