"""Encryption at rest and keyed hashes, from SMSLINE_SECRET_KEY (and SMSLINE_SECRET_KEY_OLD while rotating).

Notes, kept replies, queued texts and report texts are sealed with AES-GCM (the
`cryptography` package) under a key derived from the secret with HKDF and a
purpose label. A sealed value is text: ``s1.<key id>.<base64 of nonce and
ciphertext>``. The key id names the secret it was sealed with, so after a
rotation the old secret still opens what it sealed until `flask --app smsline
keys rotate` (or the next write) seals it again under the new one. The purpose
is bound in as associated data: a note cannot be passed off as a reply.

Covert words are HMAC-SHA256 under a second derived key: a Redis dump alone
cannot test guesses against them.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "s1."
SEAL_LABEL = b"smsline seal v1"
WORD_LABEL = b"smsline covert words v1"
ID_LABEL = b"smsline key id v1"


def derive(secret: str, label: bytes, length: int = 32) -> bytes:
    """A subkey of the secret for one purpose (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(secret.encode())


class SealError(ValueError):
    """A sealed value no configured key opens (wrong or missing SMSLINE_SECRET_KEY_OLD, or tampering)."""


class _Key:
    def __init__(self, secret: str):
        self.kid = derive(secret, ID_LABEL, 4).hex()
        self.aead = AESGCM(derive(secret, SEAL_LABEL))
        self.words = derive(secret, WORD_LABEL)


class Sealer:
    """Seals and opens values; the current key seals, the current or the old key opens."""

    def __init__(self, secret: str, old: str | None = None):
        self.current = _Key(secret)
        self.old = _Key(old) if old and old != secret else None
        self._by_id = {k.kid: k for k in (self.old, self.current) if k is not None}

    # Encryption -------------------------------------------------------------
    def seal(self, plain: str, purpose: str) -> str:
        nonce = os.urandom(12)
        ct = self.current.aead.encrypt(nonce, plain.encode(), purpose.encode())
        return f"{PREFIX}{self.current.kid}.{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def open(self, value: str | bytes | None, purpose: str) -> str:
        """The plain text of a sealed value; a value never sealed (written before sealing) comes back as it is."""
        if value is None:
            return ""
        if isinstance(value, bytes):
            value = value.decode()
        if not value.startswith(PREFIX):
            return value
        try:
            _, kid, body = value.split(".", 2)
            key = self._by_id[kid]
            raw = base64.urlsafe_b64decode(body.encode())
            return key.aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except (KeyError, ValueError, InvalidTag) as e:
            raise SealError("a sealed value could not be opened with the configured keys") from e

    def stale(self, value: str | bytes | None) -> bool:
        """Whether a stored value should be sealed again: in the clear, or under the old key."""
        if value is None:
            return False
        if isinstance(value, bytes):
            value = value.decode()
        return bool(value) and not value.startswith(f"{PREFIX}{self.current.kid}.")

    # Keyed hashes of covert words ---------------------------------------------
    def word_digest(self, salt: str, word: str, kid: str | None = None) -> str:
        """HMAC-SHA256 over the per-person salt and the word, under the current key or the one named."""
        key = self.current if kid is None else self._by_id.get(kid)
        if key is None:
            return ""
        return hmac.new(key.words, bytes.fromhex(salt) + word.encode(), hashlib.sha256).hexdigest()

    @property
    def kid(self) -> str:
        return self.current.kid

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._by_id)
