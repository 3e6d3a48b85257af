"""After a covert alarm the phone sees exactly what it would had its commands really worked,
and a phone-holder can neither burn the alarm's repeats nor learn from the flood limit that a safe word exists."""
from __future__ import annotations

import pytest

from tests.conftest import BUDDY, MEMBER, ORGANIZER, World

SAFE = "bluebird"


def _line(safe_word: bool) -> World:
    """A line with member Rose and her buddy Sam; with safe_word, Rose has one.

    Two lines are never built side by side: queued jobs run on the line built last.
    """
    w = World()
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "JOIN")
    w.text(MEMBER, f"BUDDY {BUDDY} Sam")
    w.text(BUDDY, "YES")
    if safe_word:
        w.text(MEMBER, f"SAFEWORD {SAFE}")
    for n in (ORGANIZER, MEMBER, BUDDY):
        w.take(n)
    return w


def _run(safe_word: bool, script: list[str]) -> tuple[list[list[str]], list[str]]:
    """The replies to each text of the script, a minute apart, and what the buddy got."""
    w = _line(safe_word)
    replies = []
    for body in script:
        replies.append(w.text(MEMBER, body))
        w.advance(1)
    return replies, w.take(BUDDY)


def test_wrong_ok_repeated_neither_sends_rounds_nor_uses_them_up():
    w = _line(True)
    w.text(MEMBER, "START 120 Inn 3")
    for _ in range(7):
        w.text(MEMBER, "OK")
    alerts = w.take(BUDDY)
    assert len(alerts) == 1 and "may not be free to talk" in alerts[0]
    assert w.take(ORGANIZER) == []  # no LAST ALERT: the rounds were not used up
    realert = w.line.timing.realert
    w.advance(realert - 1)
    w.text(MEMBER, "OK")
    w.text(MEMBER, "EXTEND 30")
    assert w.take(BUDDY) == []
    w.advance(1)
    assert len(w.take(BUDDY)) == 1  # the repeat comes on its schedule, once
    w.advance(realert)
    assert len(w.take(BUDDY)) == 1


def test_duress_word_again_starts_no_new_round():
    w = _line(True)
    w.text(MEMBER, "DURESS sunflower")
    w.text(MEMBER, "START 120")
    w.take(BUDDY)
    w.text(MEMBER, "sunflower")
    w.text(MEMBER, "sunflower")
    w.text(MEMBER, "OK")
    assert len(w.take(BUDDY)) == 1
