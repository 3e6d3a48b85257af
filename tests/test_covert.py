"""Safe word, duress word, TEST and WIPE: the phone may be in someone else's hands."""
from __future__ import annotations

import re

from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER
from tests.helpers import enroll_by_texts

SAFE, DURESS = "bluebird", "sunflower"


def _strip_times(text: str) -> str:
    return re.sub(r"(\w{3} )?\d{1,2}:\d\d[ap]m", "<time>", text)


def _no_word_echo(world):
    for s in world.transport.sent:
        assert SAFE not in s.body.lower() and DURESS not in s.body.lower()


def test_safe_word_is_never_echoed_and_stored_only_as_a_hash(network):
    w = network
    reply = w.reply(MEMBER, f"SAFEWORD {SAFE}")
    assert SAFE not in reply.lower() and "Delete" in reply
    for k in w.redis.keys("*"):
        dumped = w.redis.dump(k) or b""
        assert SAFE.encode() not in dumped, k


def test_with_a_safe_word_ok_raises_a_covert_alarm_and_replies_as_usual(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, "START 60")
    normal_ok = w.reply(MEMBER, "OK")
    assert normal_ok == "Good to hear. Your timer is ended."
    alert = w.take(BUDDY)
    assert len(alert) == 1 and "may not be free to talk" in alert[0]
    assert w.take(MEMBER) == []
    assert "No timer" in w.reply(MEMBER, "STATUS")
    # the buddy's ACK is not told to the phone
    w.reply(BUDDY, "ACK")
    assert w.take(MEMBER) == []
    # the real safe word ends it and stands the buddy down, and the phone still sees nothing unusual
    assert w.reply(MEMBER, SAFE) == normal_ok
    assert any("safe" in t for t in w.take(BUDDY))
    _no_word_echo(w)


def test_safe_word_ends_a_timer_quietly(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, "START 30")
    assert "ended" in w.reply(MEMBER, f"{SAFE.upper()}!")
    w.advance(60)
    assert w.take(BUDDY) == []


def test_extend_without_the_safe_word_looks_normal_but_alerts(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, "START 30")
    reply = w.reply(MEMBER, "EXTEND 60")
    assert reply.startswith("Timer now runs until")
    assert len(w.take(BUDDY)) == 1
    assert "until" in w.reply(MEMBER, "STATUS")


def test_extend_with_the_safe_word_extends(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, "START 30")
    assert "until" in w.reply(MEMBER, f"EXTEND 60 {SAFE}")
    w.advance(40)
    assert w.take(BUDDY) == []


def test_new_start_unbuddy_last_and_wipe_need_the_safe_word(network):
    for attempt in ("START 90", f"UNBUDDY {BUDDY}", "WIPE YES", "SAFEWORD OFF"):
        w = network.__class__()
        enroll_by_texts(w.text, ORGANIZER, MEMBER, "Rose", BUDDY)
        w.text(MEMBER, f"SAFEWORD {SAFE}")
        w.text(MEMBER, "START 30")
        w.take(BUDDY)
        assert w.text(MEMBER, attempt), attempt
        assert len(w.take(BUDDY)) == 1, attempt
        assert w.line.store.confirmed_buddies(w.line.store.pid_for(MEMBER)), attempt


def test_duress_word_gives_the_ok_reply_and_alerts_marked_as_duress(network):
    w = network
    w.reply(MEMBER, f"DURESS {DURESS}")
    w.reply(MEMBER, "START 60")
    reply = w.reply(MEMBER, DURESS)
    assert reply == "Good to hear. Your timer is ended."
    alert = w.take(BUDDY)
    assert len(alert) == 1 and "silent alarm" in alert[0]
    assert w.take(MEMBER) == []
    assert "No timer" in w.reply(MEMBER, "STATUS")
    # repeats keep the duress wording
    w.advance(10.1)
    assert "silent alarm" in w.take(BUDDY)[0]
    _no_word_echo(w)


def test_duress_word_alerts_without_a_timer(network):
    w = network
    w.reply(MEMBER, f"DURESS {DURESS}")
    assert w.reply(MEMBER, DURESS) == "No timer is running. Text START 60 to begin one."
    assert "silent alarm" in w.take(BUDDY)[0]


def test_words_that_are_commands_or_carrier_keywords_are_refused(network):
    w = network
    for word in ("stop", "OK", "help", "start", "sos", "status"):
        assert "command" in w.reply(MEMBER, f"SAFEWORD {word}"), word
    assert "cannot be used" in w.reply(MEMBER, "SAFEWORD ab")
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    assert "different" in w.reply(MEMBER, f"DURESS {SAFE} {SAFE}")


def test_changing_the_safe_word_needs_the_current_one(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    assert "current word" in w.reply(MEMBER, "SAFEWORD robin")
    assert "Done" in w.reply(MEMBER, f"SAFEWORD robin {SAFE}")
    w.reply(MEMBER, "START 30")
    assert "ended" in w.reply(MEMBER, "robin")
    assert "Done" in w.reply(MEMBER, "SAFEWORD OFF robin")
    w.reply(MEMBER, "START 30")
    w.reply(MEMBER, "OK")
    assert w.take(BUDDY) == []


def test_help_never_mentions_the_words(network):
    for number in (MEMBER, ORGANIZER, BUDDY):
        reply = network.reply(number, "HELP").upper()
        assert "SAFEWORD" not in reply and "DURESS" not in reply


def test_test_reaches_every_confirmed_buddy_marked_as_test(network):
    w = network
    w.reply(MEMBER, f"BUDDY {BUDDY2} Lee")
    w.take(BUDDY2)
    assert "Test sent to Sam." in w.reply(MEMBER, "TEST")
    got = w.take(BUDDY)
    assert got and all("TEST" in t for t in got)
    assert w.take(BUDDY2) == []


def test_wipe_asks_then_erases_and_tells_members_the_link_ended(network):
    w = network
    assert "WIPE YES" in w.reply(BUDDY, "WIPE")
    assert w.line.store.pid_for(BUDDY)
    assert "erased" in w.reply(BUDDY, "WIPE YES")
    assert w.line.store.pid_for(BUDDY) is None
    assert any("no longer your buddy" in t for t in w.take(MEMBER))
    assert w.line.store.confirmed_buddies(w.line.store.pid_for(MEMBER)) == ()


def test_member_wipe_erases_everything(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, "WIPE")
    w.reply(MEMBER, f"WIPE YES {SAFE}")
    pid_keys = [k for k in w.redis.keys("sl:*") if not k.startswith((b"sl:seen", b"sl:rl", b"sl:sent", b"sl:str"))]
    for k in pid_keys:
        assert b"4155550102" not in (w.redis.dump(k) or b""), k


def test_last_organizer_is_warned_before_wiping(world):
    assert "last organizer" in world.reply(ORGANIZER, "WIPE")
