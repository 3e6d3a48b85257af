"""Covert safety: the safe word, the duress word, TEST and WIPE.

A phone may be in someone else's hands. Once a member sets a safe word, anything
that would end or postpone a running timer needs it; without it the alarm goes
out at once while the reply looks ordinary. The duress word always does that.
Words are stored only as keyed hashes (HMAC-SHA256 under a key derived from
SMSLINE_SECRET_KEY, over a per-person salt and the word) and never echoed: a
Redis dump alone cannot test guesses. A stored hash names its key
("h1.<key id>.<hex>"); one made under SMSLINE_SECRET_KEY_OLD, or an older
unkeyed PBKDF2 hash, still verifies and is replaced the next time the word is
used, when the word itself is at hand.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

from .commands import parse

log = logging.getLogger(__name__)

# Each inbound text from a member with words hashes up to MAX_TOKENS words twice: an HMAC costs about a
# microsecond. The key, not an iteration count, is what stops guessing from a dump.
LEGACY_ITERATIONS = 2_000  # hashes made before keyed hashes (PBKDF2, no key): still verified, then replaced
HASH_PREFIX = "h1."
MAX_TOKENS = 8
WORD_RE = re.compile(r"^[a-z0-9\u00e0-\u00ff]{3,30}$")
# Texts that read as "I'm fine, stop the timer" although they are not OK itself.
END_WORDS = {"SAFE", "DONE", "HOME", "FINE", "GOOD", "BIEN", "CASA", "LISTA", "TERMINE"}
CARRIER = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "START", "YES",
           "UNSTOP", "HELP", "INFO"}


def normalize_word(word: str) -> str:
    return re.sub(r"[^\w]", "", (word or "").casefold())


def _legacy_digest(word: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", normalize_word(word).encode(), bytes.fromhex(salt), LEGACY_ITERATIONS).hex()


def hash_word(sealer, word: str) -> tuple[str, str]:
    """A fresh salt and the keyed hash of the word under the current key."""
    salt = secrets.token_hex(16)
    return salt, f"{HASH_PREFIX}{sealer.kid}.{sealer.word_digest(salt, normalize_word(word))}"


def matches(sealer, person: dict, kind: str, token: str) -> bool:
    salt, stored = person.get(f"{kind}_salt"), person.get(f"{kind}_hash")
    if not (salt and stored):
        return False
    if stored.startswith(HASH_PREFIX):
        _, kid, digest = stored.split(".", 2)
        computed = sealer.word_digest(salt, normalize_word(token), kid)
        if not computed:
            # Its key is gone: this member's word can never match, so each OK would raise a covert alarm.
            log.warning("a covert word is hashed under key %s, which is not configured: set SMSLINE_SECRET_KEY_OLD "
                        "back until `flask --app smsline keys rotate` reports no words left", kid)
            return False
        return hmac.compare_digest(computed, digest)
    return hmac.compare_digest(_legacy_digest(token, salt), stored)


def stale(sealer, person: dict, kind: str) -> bool:
    """Whether the stored hash is not under the current key (legacy, or the old key): rehash when matched."""
    stored = person.get(f"{kind}_hash") or ""
    return bool(stored) and not stored.startswith(f"{HASH_PREFIX}{sealer.kid}.")


def tokens(body: str) -> list[str]:
    return [t for t in (normalize_word(w) for w in (body or "").split()[:MAX_TOKENS]) if t]


def word_problem(word: str) -> str | None:
    """Why a word cannot be a safe or duress word, or None."""
    w = normalize_word(word)
    if w.upper() in CARRIER or (w and parse(w).name not in ("UNKNOWN", "DURATION")):
        return "word_is_command"
    if not WORD_RE.match(w) or len((word or "").split()) != 1:
        return "word_bad"
    return None


class Screen:
    """What the words in one inbound text mean for this member."""

    def __init__(self, sealer, person: dict, body: str):
        self.has_safe = bool(person.get("safe_hash"))
        self.has_duress = bool(person.get("duress_hash"))
        self.safe_given = False
        self.duress = False
        self.body = body
        self.rehash: dict[str, str] = {}  # kind -> the word, when it matched a hash not under the current key
        if not (self.has_safe or self.has_duress):
            return
        words = tokens(body)
        hit = next((t for t in words if matches(sealer, person, "duress", t)), None) if self.has_duress else None
        if hit is not None:
            self.duress = True
            if stale(sealer, person, "duress"):
                self.rehash["duress"] = hit
            return
        if self.has_safe:
            raw = (body or "").split()
            for i, w in enumerate(raw[:MAX_TOKENS]):
                if normalize_word(w) and matches(sealer, person, "safe", w):
                    self.safe_given = True
                    if stale(sealer, person, "safe"):
                        self.rehash["safe"] = w
                    self.body = " ".join(raw[:i] + raw[i + 1:])
                    break
            if self.safe_given and not self.body.strip():
                self.body = "OK"
