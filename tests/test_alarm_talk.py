"""Talk during an open alarm, through /sms as phones would (fixa).

A member whose alerts are out hears the truth and has their words passed on; someone alerted who
texts anything hears what the alert is about; cries for help in words raise the alarm; an SOS from a
number that is no member is never met with silence; an organizer's ACK is named as an organizer.
"""
from __future__ import annotations

import pytest

from smsline import messages
from smsline.rendering import fmt_time
from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER

STRANGER = "+14155550199"
GRACE = 5  # minutes of grace after a timer runs out (session.Timing)


def _alerted(w, note: str = "Motel 6 room 12") -> None:
    """Rose's timer ran out and her buddy Sam (and nobody else) was alerted."""
    w.reply(MEMBER, f"START 1 {note}")
    w.advance(1 + GRACE + 0.5)
    assert any(("has not checked in" in t or "no se ha reportado" in t) for t in w.take(BUDDY))
    w.take(MEMBER)
    w.take(ORGANIZER)


# 1. A member's words during an open alarm ----------------------------------------------------------

@pytest.mark.parametrize("words", ["call the police", "hes got a knife", "sorry phone died", "im ok"])
def test_member_words_after_alerts_get_the_truth_and_reach_the_alerted_buddy_once(network, words):
    w = network
    _alerted(w)
    reply = w.text(MEMBER, words)
    assert len(reply) == 1
    assert reply[0].startswith("Alerts went out at ") and "passed your text on" in reply[0]
    assert "still running" not in reply[0] and "Text OK when you are safe" in reply[0]
    relayed = w.take(BUDDY)
    assert relayed == [f"Line: text from Rose's phone: {words}"]
    assert w.take(ORGANIZER) == []  # organizers were not alerted for this alarm: not told either


def test_a_redelivered_text_is_passed_on_once(network):
    """Twilio may deliver the same MessageSid twice: the buddy gets the words once."""
    w = network
    _alerted(w)
    for _ in range(2):
        assert w.post(MEMBER, "hes got a knife", sid="SMfixa0000000000000000000000000001").status_code == 200
        w.run_jobs()
    assert w.take(BUDDY) == ["Line: text from Rose's phone: hes got a knife"]


def test_spanish_member_hears_it_in_spanish_and_a_spanish_buddy_reads_it_in_spanish(network):
    w = network
    w.reply(MEMBER, "LANG ES")
    w.reply(BUDDY, "LANG ES")
    _alerted(w)
    reply = w.reply(MEMBER, "que pasa")
    assert reply.startswith("Las alertas salieron a las ") and "Les pasamos tu mensaje" in reply
    assert w.take(BUDDY) == ["Line: mensaje desde el telefono de Rose: que pasa"]


def test_reply_names_who_is_on_it_once_a_buddy_acked(network):
    w = network
    _alerted(w)
    w.reply(BUDDY, "ACK")
    w.take(MEMBER)
    reply = w.reply(MEMBER, "where are you")
    assert "Sam replied they are on it." in reply


def test_in_the_grace_period_the_reply_says_when_alerts_go_out_and_nothing_is_passed_on(network):
    w = network
    w.reply(MEMBER, "START 1")
    w.advance(1.5)
    w.take(MEMBER)
    reply = w.reply(MEMBER, "sorry phone died")
    assert reply.startswith("Time is up. Alerts go out at ") and "unless you text OK" in reply
    assert w.take(BUDDY) == []


def test_after_an_sos_the_members_words_reach_every_alerted_buddy_and_organizer(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Kim")
    w.text(BUDDY2, "YES")
    w.reply(MEMBER, "SOS")
    for n in (BUDDY, BUDDY2, ORGANIZER, MEMBER):
        w.take(n)
    w.reply(MEMBER, "hes got a knife")
    assert w.take(BUDDY) == ["Line: text from Rose's phone: hes got a knife"]
    assert w.take(BUDDY2) == ["Line: text from Rose's phone: hes got a knife"]


def test_organizers_alerted_for_a_member_without_buddies_get_the_words(world):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Ivy")
    w.text(MEMBER, "JOIN")
    w.reply(MEMBER, "START 1")
    w.advance(1 + GRACE + 0.5)
    assert any("has not checked in" in t for t in w.take(ORGANIZER))
    reply = w.reply(MEMBER, "sorry phone died")
    assert reply.startswith("Alerts went out")
    assert w.take(ORGANIZER) == ["Line: text from Ivy's phone: sorry phone died"]


def test_long_words_are_cut_to_fit_three_texts(network):
    w = network
    _alerted(w)
    w.reply(MEMBER, "he is still here " * 100)
    (relayed,) = w.take(BUDDY)
    assert relayed.startswith("Line: text from Rose's phone: he is still here") and relayed.endswith("...")
    assert len(relayed) <= messages.LONG_LIMIT


def test_after_a_duress_alarm_the_phone_sees_all_is_well_but_the_words_reach_the_buddy(network):
    w = network
    w.reply(MEMBER, "DURESS sunflower")
    w.reply(MEMBER, "START 30")
    assert w.reply(MEMBER, "sunflower") == "Good to hear. Your timer is ended."
    w.take(BUDDY)
    reply = w.reply(MEMBER, "hes got a knife")
    assert "Alerts" not in reply and "passed" not in reply
    assert reply == messages.render("unknown", "en")  # as for a member with no timer
    assert w.take(BUDDY) == ["Line: text from Rose's phone: hes got a knife"]
    assert w.take(MEMBER) == []


def test_with_a_safe_word_the_guarded_alarm_hides_and_words_are_passed_on_without_the_safe_word(network):
    w = network
    w.reply(MEMBER, "SAFEWORD bluebird")
    w.reply(MEMBER, "START 30")
    running = w.reply(MEMBER, "im ok")  # an "I'm fine" phrase without the safe word: covert alarm as before
    assert "still running" in running
    assert len(w.take(BUDDY)) == 1
    reply = w.reply(MEMBER, "he took my bag")
    assert "still running" in reply and "Alerts" not in reply
    assert w.take(BUDDY) == ["Line: text from Rose's phone: he took my bag"]
    reply = w.reply(MEMBER, "where bluebird now")
    assert w.take(BUDDY) == ["Line: text from Rose's phone: where now"]


# 2. Someone alerted, texting what is no command ----------------------------------------------------

@pytest.mark.parametrize("words", ["who is this", "what", "ok", "ok?"])
def test_an_alerted_buddy_gets_a_summary_and_is_asked_for_ack(network, words):
    w = network
    _alerted(w)
    due = w.timer(MEMBER).ends_at
    reply = w.reply(BUDDY, words)
    assert reply.startswith(f"Rose {MEMBER} missed a check-in at {fmt_time(w.line, due, w.now)}.")
    assert reply.endswith("Reply ACK if you are on it.")
    assert w.timer(MEMBER).acked_by is None  # a bare ok is no ACK
    assert w.take(MEMBER) == []


def test_an_alerted_organizer_gets_the_summary_for_an_sos(world):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Ivy")
    w.text(MEMBER, "JOIN")
    w.reply(MEMBER, "SOS")
    assert any("asked for help now" in t for t in w.take(ORGANIZER))
    reply = w.reply(ORGANIZER, "what happened")
    assert reply.startswith(f"Ivy {MEMBER} asked for help at ") and "Reply ACK" in reply
    assert w.reply(ORGANIZER, "ok").startswith(f"Ivy {MEMBER} asked for help at ")
    assert w.timer(MEMBER).acked_by is None


def test_a_spanish_buddy_gets_the_summary_in_spanish(network):
    w = network
    w.reply(BUDDY, "LANG ES")
    _alerted(w)
    reply = w.reply(BUDDY, "quien es")
    assert reply.startswith(f"Rose {MEMBER} no se ha reportado") and "Responde ACK (o VOY)" in reply


@pytest.mark.parametrize("words", ["on my way", "omw", "on it", "coming", "going now", "voy", "ya voy",
                                   "voy para alla", "OMW!", "on the way", "en camino"])
def test_on_my_way_and_its_kin_count_as_ack(network, words):
    w = network
    _alerted(w)
    reply = w.reply(BUDDY, words)
    assert "on it for Rose" in reply or "encargando de Rose" in reply
    assert w.timer(MEMBER).acked_by == w.line.store.pid_for(BUDDY)
    assert w.take(MEMBER) == ["Sam got your alert and is on it."]


def test_coming_home_from_a_member_with_nothing_to_ack_is_answered_as_any_text(network):
    w = network
    w.reply(MEMBER, "START 30")
    reply = w.reply(MEMBER, "coming home now")
    assert "still running" in reply and "No alert is open" not in reply


def test_once_acked_the_summary_thanks_rather_than_asks(network):
    w = network
    _alerted(w)
    w.reply(BUDDY, "ACK")
    assert w.reply(BUDDY, "ok").endswith("You replied ACK: thank you.")


# 3. Cries for help in words ------------------------------------------------------------------------

@pytest.mark.parametrize("words", ["please help", "i need help", "need help", "help me", "help him", "help her",
                                   "help us", "ayudame por favor", "necesito ayuda", "Please help!!", "help me please"])
def test_help_phrases_raise_the_alarm_like_sos_without_a_note_of_help_words(network, words):
    w = network
    w.text(MEMBER, words)
    assert w.timer(MEMBER).status == "alerting"
    (alert,) = w.take(BUDDY)
    assert "asked for help now" in alert and "Note:" not in alert


def test_a_cry_with_more_words_carries_them_as_the_note(network):
    w = network
    w.text(MEMBER, "i need help motel 6 room 12")
    (alert,) = w.take(BUDDY)
    assert "Note: motel 6 room 12." in alert


@pytest.mark.parametrize("words", ["HELP", "HELP!!!", "help?", "ayuda"])
def test_bare_help_stays_the_menu_and_starts_with_what_to_do_in_danger(network, words):
    w = network
    replies = w.text(MEMBER, words)
    assert w.timer(MEMBER) is None
    assert replies[0].startswith(("Line: In danger? Text SOS", "Line: ¿En peligro? Manda SOS"))
    assert w.take(BUDDY) == []
    assert len(replies[0]) <= messages.LONG_LIMIT


def test_a_non_member_with_a_running_timer_can_cry_for_help(network):
    w = network
    w.reply(MEMBER, "START 30")
    w.line.store.unenroll(w.line.store.pid_for(MEMBER))  # removed by another path while the timer runs
    w.text(MEMBER, "please help")
    assert w.timer(MEMBER).status == "alerting"


# 4. SOS from a number that is no member ------------------------------------------------------------

STRANGER_SOS = ("This number answers invited people only. If you are in danger, call someone you trust or your "
                "local emergency number.")


def test_a_strangers_sos_gets_the_neutral_reply_even_after_the_days_one_reply(world):
    w = world
    assert w.text(STRANGER, "hello?") == ["This number answers invited people only."]
    assert w.text(STRANGER, "hello?") == []  # other texts: one reply a day, as before
    assert w.text(STRANGER, "SOS") == [STRANGER_SOS]
    assert w.text(STRANGER, "help me") == [STRANGER_SOS]
    assert "police" not in STRANGER_SOS.lower()


def test_a_removed_member_and_a_stranger_hear_the_same_for_sos(world):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Ivy")
    w.text(MEMBER, "JOIN")
    w.text(ORGANIZER, f"REMOVE {MEMBER}")
    w.text(MEMBER, "START 30")
    removed = [w.text(MEMBER, "HELP"), w.text(MEMBER, "SOS"), w.text(MEMBER, "sos help me")]
    w.text(STRANGER, "START 30")
    stranger = [w.text(STRANGER, "HELP"), w.text(STRANGER, "SOS"), w.text(STRANGER, "sos help me")]
    assert removed == stranger
    assert removed[1] == [STRANGER_SOS]


def test_stranger_sos_replies_are_capped_an_hour_so_no_loop_runs(world):
    w = world
    got = [w.text(STRANGER, "SOS") for _ in range(5)]
    assert got[:3] == [[STRANGER_SOS]] * 3 and got[3:] == [[], []]


def test_a_buddy_who_is_no_member_is_not_silenced_by_sos_even_with_an_alert_open(network):
    w = network
    assert "If you are in danger, call someone you trust" in w.reply(BUDDY, "SOS")
    _alerted(w)
    assert "If you are in danger, call someone you trust" in w.reply(BUDDY, "please help")


# 5. Who the member is told is on it ----------------------------------------------------------------

def test_an_organizers_ack_is_named_an_organizer_to_the_member(world):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Ivy")
    w.text(MEMBER, "JOIN")
    w.reply(MEMBER, "START 1")
    w.advance(1 + GRACE + 0.5)
    w.take(MEMBER)
    w.reply(ORGANIZER, "on it")
    assert w.take(MEMBER) == ["An organizer got your alert and is on it."]
    assert "An organizer replied they are on it." in w.reply(MEMBER, "STATUS")


def test_a_buddys_ack_still_shows_the_name_the_member_gave(network):
    w = network
    _alerted(w)
    w.reply(BUDDY, "ACK")
    assert w.take(MEMBER) == ["Sam got your alert and is on it."]


# 6. "no se" is words, not NO -----------------------------------------------------------------------

def test_no_se_from_a_member_with_a_timer_is_not_read_as_no(network):
    w = network
    w.reply(MEMBER, "LANG ES")
    w.reply(MEMBER, "START 30")
    reply = w.reply(MEMBER, "no se")
    assert "nada esperando" not in reply and "sigue corriendo" in reply


def test_no_still_answers_an_invitation(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Kim")
    reply = w.reply(BUDDY2, "NO")
    assert "nothing waiting" not in reply
    assert any("Kim" in t for t in w.take(MEMBER))
    assert w.reply(MEMBER, "NO") == "There is nothing waiting for a reply."


def test_on_it_from_a_buddy_with_nothing_open_still_says_no_alert_is_open(network):
    w = network
    assert w.reply(BUDDY, "on my way") == "No alert is open for you right now."


def test_a_phone_in_other_hands_cannot_flood_the_alerted_with_passed_on_texts(network):
    """At most 30 texts an hour of one alarm are passed on; every one is still answered with the truth."""
    w = network
    _alerted(w)
    from smsline.store import Keys

    replies = []
    for i in range(32):
        w.redis.delete(Keys.flood.format(h=w.line.store.number_hash(MEMBER)))  # the per-minute flood window
        replies.append(w.reply(MEMBER, f"zzqx {i}"))
    assert len(w.take(BUDDY)) == 30
    assert all(r.startswith("Alerts went out at ") for r in replies)


def test_a_length_alone_during_an_alarm_is_passed_on_with_the_truth(network):
    w = network
    _alerted(w)
    assert w.reply(MEMBER, "10 min").startswith("Alerts went out at ")
    assert w.take(BUDDY) == ["Line: text from Rose's phone: 10 min"]


@pytest.mark.parametrize("words", ["9999 min", "10 min", "ok but not really", "no se"])
def test_after_a_covert_alarm_words_are_passed_on_once_and_the_phone_sees_no_alarm(network, words):
    """Some texts pass through two handlers (NO, then any text); the buddy still gets the words once."""
    w = network
    w.reply(MEMBER, "DURESS sunflower")
    w.reply(MEMBER, "sunflower")
    w.take(BUDDY)
    from smsline.store import Keys

    reply = w.reply(MEMBER, words)
    assert "Alerts" not in reply and "passed" not in reply
    assert w.take(BUDDY) == [f"Line: text from Rose's phone: {words}"]
    pid = w.line.store.pid_for(MEMBER)
    tid = w.timer(MEMBER).tid
    assert int(w.redis.get(Keys.rate.format(pid=pid, kind=f"relay-{tid}"))) == 1
