"""Covert safety: the safe word, the duress word, TEST and WIPE.

A phone may be in someone else's hands. Once a member sets a safe word, anything
that would end or postpone a running timer needs it; without it the alarm goes
out at once while the reply looks ordinary. The duress word always does that.
Words are stored only as salted hashes and never echoed.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from . import session
from .commands import parse
from .store import Keys

# Each inbound text from a member with words hashes up to MAX_TOKENS words twice: keep that to a few ms.
# (A short word is guessable whatever the cost; the salt and hash keep it out of plain sight in Redis.)
ITERATIONS = 2_000
MAX_TOKENS = 8
WORD_RE = re.compile(r"^[a-z0-9\u00e0-\u00ff]{3,30}$")
# Texts that read as "I'm fine, stop the timer" although they are not OK itself.
END_WORDS = {"SAFE", "DONE", "HOME", "FINE", "GOOD", "BIEN", "CASA", "LISTA", "TERMINE"}
# Commands that would end or postpone a running timer (SPEC: "A phone may be in someone else's hands").
GUARDED = {"OK", "OK_UNCLEAR", "FINE", "EXTEND", "START", "UNBUDDY", "WIPE", "SAFEWORD", "DURESS"}
CARRIER = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "START", "YES",
           "UNSTOP", "HELP", "INFO"}


def normalize_word(word: str) -> str:
    return re.sub(r"[^\w]", "", (word or "").casefold())


def _digest(word: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", normalize_word(word).encode(), bytes.fromhex(salt), ITERATIONS).hex()


def hash_word(word: str) -> tuple[str, str]:
    salt = secrets.token_hex(16)
    return salt, _digest(word, salt)


def matches(person: dict, kind: str, token: str) -> bool:
    salt, digest = person.get(f"{kind}_salt"), person.get(f"{kind}_hash")
    return bool(salt and digest) and hmac.compare_digest(_digest(token, salt), digest)


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

    def __init__(self, person: dict, body: str):
        self.has_safe = bool(person.get("safe_hash"))
        self.has_duress = bool(person.get("duress_hash"))
        self.safe_given = False
        self.duress = False
        self.body = body
        if not (self.has_safe or self.has_duress):
            return
        words = tokens(body)
        if self.has_duress and (any(matches(person, "duress", t) for t in words)):
            self.duress = True
            return
        if self.has_safe:
            raw = (body or "").split()
            for i, w in enumerate(raw[:MAX_TOKENS]):
                if normalize_word(w) and matches(person, "safe", w):
                    self.safe_given = True
                    self.body = " ".join(raw[:i] + raw[i + 1:])
                    break
            if self.safe_given and not self.body.strip():
                self.body = "OK"


def is_end_attempt(cmd) -> bool:
    return cmd.name in GUARDED or (cmd.name == "UNKNOWN" and cmd.word in END_WORDS)
