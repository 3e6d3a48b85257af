"""After a covert alarm the phone sees exactly what it would had its commands really worked,
and a phone-holder can neither burn the alarm's repeats nor learn from the flood limit that a safe word exists."""
from __future__ import annotations

import pytest

from smsline.handlers import inbound
from smsline.store import Keys
from tests.conftest import BUDDY, MEMBER, ORGANIZER, World
from tests.helpers import enroll_by_texts

SAFE = "bluebird"


def _line(safe_word: bool) -> World:
    """A line with member Rose and her buddy Sam; with safe_word, Rose has one.

    Two lines are never built side by side: queued jobs run on the line built last.
    """
    w = World()
    enroll_by_texts(w.text, ORGANIZER, MEMBER, "Rose", BUDDY)
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


SCRIPTS = {
    "extend_status_help": ["START 60 Hotel K, rm 5", "EXTEND 30", "STATUS", "EXTEND 45", "STATUS", "HELP"],
    "ok_then_start": ["START 60 Hotel K, rm 5", "OK", "STATUS", "OK", "EXTEND 10", "START 30 Inn 3", "STATUS", "HELP"],
    "safeword_off": ["START 60 Hotel K", "SAFEWORD OFF", "STATUS"],
    "wipe": ["START 60 Hotel K", "WIPE", "WIPE YES", "STATUS", "BUDDIES", "HELP", "OK", "START 30"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_cover_story_matches_the_real_thing_byte_for_byte(name):
    """The same texts on a member with a safe word (covert alarm) and one without (really done): same replies."""
    covert, covert_buddy = _run(True, SCRIPTS[name])
    plain, plain_buddy = _run(False, SCRIPTS[name])
    for body, a, b in zip(SCRIPTS[name], covert, plain):
        assert a == b, (body, a, b)
    # and the covert alarm did go out, while nothing was really ended
    assert any("may not be free to talk" in t for t in covert_buddy)
    assert not any("may not be free to talk" in t for t in plain_buddy)


def _flood_replies(safe_word: bool, body: str, n: int = 25, timer: bool = False) -> list[list[str]]:
    w = _line(safe_word)
    if timer:
        w.text(MEMBER, "START 120 Inn 3")
    w.redis.delete(Keys.flood.format(h=w.line.store.number_hash(MEMBER)))  # a fresh minute
    return [w.text(MEMBER, body) for _ in range(n)]


@pytest.mark.parametrize("body,timer", [("BUDDIES", False), ("BUDDIES", True), ("hello", True), ("STATUS", True)])
def test_the_flood_limit_is_the_same_with_or_without_covert_words_and_never_silences(body, timer):
    """25 texts in a minute: a member with a safe word and one without get the same replies, each a reply."""
    covert = _flood_replies(True, body, timer=timer)
    plain = _flood_replies(False, body, timer=timer)
    assert covert == plain
    assert all(len(r) == 1 for r in plain)
    if body != "STATUS":  # questions are always answered in full
        assert "Too many texts" in plain[inbound.FLOOD_PER_MINUTE][0] and "Too many texts" in plain[-1][0]


def test_past_the_flood_limit_the_safe_word_and_ok_are_still_acted_on():
    w = _line(True)
    w.text(MEMBER, "START 120 Inn 3")
    w.redis.delete(Keys.flood.format(h=w.line.store.number_hash(MEMBER)))
    for _ in range(inbound.FLOOD_PER_MINUTE + 3):
        w.text(MEMBER, "hello")
    assert w.text(MEMBER, "OK") == ["Good to hear. Your timer is ended."]
    assert len(w.take(BUDDY)) == 1  # the covert alarm went out
    assert len(w.text(MEMBER, SAFE)) == 1
    assert not w.timer(MEMBER).live  # the safe word, past the limit, ended the alarm
    assert any("safe" in t for t in w.take(BUDDY))  # and the buddy was stood down
