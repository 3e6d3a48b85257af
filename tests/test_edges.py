"""Safe at the edges (issue 11): REMOVE mid-timer, anyone with a running timer is answered, alerts that
can be acted on, and texts that say only what is true. Driven through /sms as the phones would."""
from __future__ import annotations

import pytest

from smsline import messages, session
from smsline.gsm7 import septets
from smsline.store import Keys
from smsline.transport import SendError
from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER
from tests.helpers import enroll_by_texts

SAFE = "bluebird"
OTHER_MEMBER = "+14155550105"


def _pid(w, number=MEMBER):
    return w.line.store.pid_for(number)


def _alerts(texts):
    return [t for t in texts if "ACK" in t or "LAST ALERT" in t or "follow up" in t]


# ---------------------------------------------------------------- 1. REMOVE during a live timer


def test_remove_refuses_while_a_timer_runs_and_says_until_when(network):
    """REMOVE never strands a running timer: it refuses, names the end time, and the member keeps everything."""
    w = network
    w.reply(MEMBER, "START 60")
    reply = w.reply(ORGANIZER, f"REMOVE {MEMBER}")
    assert reply == "...0102 has a timer running until 9:00am, so they stay a member for now. " \
                    "Try REMOVE again after it ends."
    assert septets(reply) <= 160
    assert w.take(MEMBER) == []  # no "you are no longer on" while the timer runs
    assert w.line.store.is_member(_pid(w))
    assert "Timer on until 9:00am" in w.reply(MEMBER, "STATUS")
    assert w.reply(MEMBER, "OK") == "Good to hear. Your timer is ended."
    assert w.reply(ORGANIZER, f"REMOVE {MEMBER}") == "...0102 is no longer a member."
    assert w.take(MEMBER) == ["You are no longer on Line. Thank you."]


def test_remove_refuses_while_alerts_are_out_and_the_members_ok_then_stands_everyone_down(network):
    """With alerts out, REMOVE says so; the member's OK still works and the buddy hears the stand-down."""
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert len(_alerts(w.take(BUDDY))) == 1
    assert "open alarm" in w.reply(ORGANIZER, f"REMOVE {MEMBER}")
    assert "stand down" in w.reply(MEMBER, "OK")
    assert any("Stand down" in t for t in w.take(BUDDY))
    assert "no longer a member" in w.reply(ORGANIZER, f"REMOVE {MEMBER}")


def test_a_start_racing_a_remove_leaves_no_non_member_with_a_running_timer(network, monkeypatch):
    """REMOVE commits between START's read and its write: START's transaction fails, retries, and refuses."""
    w = network
    real_start, raced = session.start, []

    def start_with_a_remove_in_between(*args, **kwargs):
        if not raced:
            raced.append(w.post(ORGANIZER, f"REMOVE {MEMBER}"))
        return real_start(*args, **kwargs)

    monkeypatch.setattr(session, "start", start_with_a_remove_in_between)
    reply = w.reply(MEMBER, "START 60")
    assert b"no longer a member" in raced[0].data
    assert reply == messages.render("stranger")
    assert not w.line.store.is_member(_pid(w))
    t = w.timer(MEMBER)
    assert t is None or not t.live


def test_a_remove_racing_a_start_refuses_instead_of_removing_under_the_new_timer(network, monkeypatch):
    """START commits between REMOVE's read and its write: REMOVE's transaction fails, retries, and refuses."""
    w = network
    store, real_unenroll, raced = w.line.store, w.line.store.unenroll, []

    def unenroll_with_a_start_in_between(pid, pipe=None):
        if not raced:
            raced.append(w.post(MEMBER, "START 60"))
        return real_unenroll(pid, pipe=pipe)

    monkeypatch.setattr(store, "unenroll", unenroll_with_a_start_in_between)
    reply = w.reply(ORGANIZER, f"REMOVE {MEMBER}")
    assert b"Timer on until" in raced[0].data
    assert "has a timer running until 9:00am" in reply
    assert store.is_member(_pid(w))
    assert w.timer(MEMBER).live


# ---------------------------------------------------------------- 2. REMOVE forgets the covert words


def test_remove_forgets_the_safe_word_so_a_readded_members_plain_ok_ends_the_timer(network):
    """ADD, JOIN, SAFEWORD, REMOVE, ADD, JOIN, START 30, OK: ended normally, no silent alarm to anyone."""
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, "DURESS sunflower")
    assert "no longer a member" in w.reply(ORGANIZER, f"REMOVE {MEMBER}")
    person = w.line.store.person(_pid(w))
    assert not any(k in person for k in ("safe_hash", "safe_salt", "duress_hash", "duress_salt"))
    w.reply(ORGANIZER, f"ADD {MEMBER} Rose")
    assert "Welcome" in w.reply(MEMBER, "JOIN")
    w.reply(MEMBER, "START 30")
    for n in (ORGANIZER, BUDDY):
        w.take(n)
    assert w.reply(MEMBER, "OK") == "Good to hear. Your timer is ended."
    w.advance(120)
    t = w.timer(MEMBER)
    assert t.status == session.ENDED and not t.covert
    assert w.take(BUDDY) == [] and w.take(ORGANIZER) == []


# ---------------------------------------------------------------- 3. anyone with a running timer


def _unenrolled_mid_timer(w, body="START 60 Hotel Mirabel"):
    """A member whose membership went by another path (a WIPE race, a store-level removal) mid-timer."""
    w.reply(MEMBER, body)
    w.line.redis.srem(Keys.members, _pid(w))
    w.take(MEMBER)


def test_ok_status_extend_and_sos_work_for_a_non_member_whose_timer_runs(network):
    """Never the stranger reply, never silence: the timer's owner can check, extend, raise and end it."""
    w = network
    _unenrolled_mid_timer(w)
    assert w.reply(MEMBER, "STATUS") == "Timer on until 9:00am. Note: Hotel Mirabel."
    assert w.reply(MEMBER, "EXTEND 30") == "Timer now runs until 9:30am. Text OK when you are safe."
    assert "Your timer runs until 9:30am" in w.reply(MEMBER, "BUDDIES")  # anything else: how to end it
    assert w.reply(MEMBER, "SOS") == "Alert sent. Text OK when you are safe."
    sos = w.take(BUDDY)
    assert len(sos) == 1 and "asked for help" in sos[0] and MEMBER in sos[0]
    assert "stand down" in w.reply(MEMBER, "OK")
    assert any("Stand down" in t for t in w.take(BUDDY))
    assert w.reply(MEMBER, "OK") == messages.render("stranger")  # no timer now: a non-member again


def test_a_non_member_whose_timer_runs_is_answered_however_often_they_text(network):
    w = network
    _unenrolled_mid_timer(w)
    for body in ("hello?", "BUDDIES", "START 30", "what now", ""):
        assert w.text(MEMBER, body), body


def test_the_safe_word_still_guards_a_non_members_running_timer(network):
    """A plain OK raises the silent alarm with the ordinary reply; the safe word then ends it."""
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    _unenrolled_mid_timer(w)
    assert w.reply(MEMBER, "OK") == "Good to hear. Your timer is ended."
    duress = w.take(BUDDY)
    assert len(duress) == 1 and "silent alarm" in duress[0]
    assert w.reply(MEMBER, f"OK {SAFE}") == "Good to hear. Your timer is ended."
    assert any("Stand down" in t for t in w.take(BUDDY))


# ---------------------------------------------------------------- 4. alerts say how to reach the member


def test_an_alert_without_a_note_gives_the_number_and_does_not_point_at_a_note(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    [alert] = w.take(BUDDY)
    assert alert == ("Line: Rose has not checked in. Timer started 8:00am. First: call or text them now at "
                     "+14155550102. If no answer, keep trying and ask anyone who may know where they are. "
                     "Reply ACK when you are on it.")
    assert "note" not in alert.lower()


def test_an_alert_with_a_note_shows_it_and_every_tier_gives_the_number(network):
    """First alert to the buddy, repeats and the last alert to organizers: number, alias, start, note."""
    w = network
    w.reply(MEMBER, "START 5 Hotel Mirabel rm 12, blue Honda")
    w.advance(10.1)
    [first] = w.take(BUDDY)
    assert "Note: Hotel Mirabel rm 12, blue Honda." in first
    assert "call or text them now at +14155550102" in first and "the note may say where" in first
    w.advance(60)  # every repeat, up to the last alert
    org = _alerts(w.take(ORGANIZER))
    assert org and "LAST ALERT" in org[-1]
    for text in org:
        assert "+14155550102" in text and "Rose" in text and "8:00am" in text and "Hotel Mirabel" in text


@pytest.mark.parametrize("word, kind", [("SOS at the Mirabel", "asked for help"), ("sunflower", "silent alarm")])
def test_sos_and_duress_alerts_give_the_number(network, word, kind):
    w = network
    w.reply(MEMBER, "DURESS sunflower")
    w.reply(MEMBER, "START 60")
    w.text(MEMBER, word)
    [alert] = w.take(BUDDY)
    assert kind in alert and "+14155550102" in alert


@pytest.mark.parametrize("lang", ["en", "es"])
def test_worst_case_alerts_fit_three_texts_and_only_the_note_shrinks(make_world, lang):
    """Longest network name, alias and note, in each language: the number and the instructions arrive whole."""
    w = make_world({"network_name": "Red Mutua Norte {Centro} [Sur]"})
    alias = "{Rose}[Maria]|~^{Ana}"  # 20 characters, most of them two septets
    note = ("Hotel Mirabel room 1207 {tower B}, tall man, grey Honda plate 7ABC123, paid cash, "
            "says his name is Mark ~ ") * 3
    enroll_by_texts(w.text, ORGANIZER, MEMBER, alias, BUDDY)
    w.text(BUDDY, f"LANG {lang}")
    w.text(MEMBER, f"START 5 {note}")
    w.take(BUDDY)
    w.advance(10.1)
    w.advance(60)
    w.text(MEMBER, "SOS " + note)
    texts = _alerts(w.take(BUDDY)) + _alerts(w.take(ORGANIZER))
    assert len(texts) >= 7
    for text in texts:
        assert septets(text) <= 459, (septets(text), text)
        assert "+14155550102" in text
        assert alias[:10] in text
        assert "ACK" in text or "LAST" in text or "ULTIMA" in text


# ---------------------------------------------------------------- 5. texts say only what is true


def test_a_member_with_no_buddy_is_told_organizers_not_buddies_are_alerted(world):
    w = world
    w.text(ORGANIZER, f"ORGANIZER {BUDDY2}")
    w.text(BUDDY2, "YES")
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "JOIN")
    assert "organizers get your alerts" in w.reply(MEMBER, "START 5")
    w.advance(10.1)
    told = w.take(MEMBER)
    assert "Your time is up. Text OK now, or organizers are alerted in 5 min." in told
    assert "You have no buddy, so organizers have been alerted. Text OK when you are safe." in told
    assert not any("buddies" in t for t in told)
    assert len(_alerts(w.take(ORGANIZER))) == 1 and len(_alerts(w.take(BUDDY2))) == 1


def test_with_nobody_to_alert_the_member_is_not_promised_anyone(world):
    """The only organizer, with no buddy: nobody can be alerted, and every text says so."""
    w = world
    assert "nobody would be alerted" in w.reply(ORGANIZER, "START 5")
    w.advance(10.1)
    told = w.take(ORGANIZER)
    assert "Your time is up. Text OK now. You have no buddy and no other organizer to alert." in told
    assert any(t.startswith("Nobody could be alerted") for t in told)
    assert not any("have been alerted" in t or "are alerted in" in t for t in told)
    assert w.reply(ORGANIZER, "OK") == "Good to hear. Your timer is ended."  # nobody to stand down


def test_an_undeliverable_alert_with_no_organizer_to_hand_it_to_says_so(world):
    w = world
    w.text(ORGANIZER, f"BUDDY {BUDDY} Sam")
    w.text(BUDDY, "YES")
    w.transport.fail[BUDDY] = SendError(21610, 400, False)
    w.text(ORGANIZER, "START 5")
    w.take(ORGANIZER)
    w.advance(10.1)
    told = w.take(ORGANIZER)
    assert "Your alert could not reach Sam, and there is no organizer to pass it to. " \
           "Call someone you trust if you can." in told
    assert not any("Organizers are being alerted" in t for t in told)


def test_after_a_covert_alarm_a_member_with_no_buddy_hears_nothing_of_it(world):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "JOIN")
    w.text(MEMBER, "DURESS sunflower")
    w.text(MEMBER, "START 60")
    w.take(MEMBER)
    assert w.reply(MEMBER, "sunflower") == "Good to hear. Your timer is ended."
    assert any("silent alarm" in t for t in w.take(ORGANIZER))
    w.advance(30)
    assert w.take(MEMBER) == []


def test_a_lone_buddys_ack_does_not_claim_others_were_told(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    w.take(MEMBER)
    assert w.reply(BUDDY, "ACK") == "Thank you. You are on it for Rose."
    assert w.take(MEMBER) == ["Sam got your alert and is on it."]
    assert w.reply(BUDDY, "ACK") == "Thank you. You are on it for Rose."  # again: still theirs, not "someone"


def test_with_two_buddies_the_ack_says_the_others_were_told_and_they_are(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    w.text(BUDDY2, "YES")
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    w.take(BUDDY2)
    assert w.reply(BUDDY, "ACK") == "Thank you. You are on it for Rose; the others alerted were told."
    assert w.take(BUDDY2) == ["Sam is responding for Rose."]
    assert w.reply(BUDDY2, "ACK") == "Thank you. Someone is already on it for: Rose."


def test_test_names_who_it_went_to_in_natural_words(network):
    w = network
    assert w.reply(MEMBER, "TEST") == "Test sent to Sam. Ask them if it arrived."
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    w.text(BUDDY2, "YES")
    assert w.reply(MEMBER, "TEST") == "Test sent to Sam, Ana. Ask them if it arrived."


def test_the_stand_down_says_the_member_says_they_are_safe(network):
    """What the line knows is the member's word, and it says so."""
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    w.take(BUDDY)
    w.reply(MEMBER, "OK")
    assert w.take(BUDDY) == ["Line: Rose says they are safe. Stand down from the alert of 8:10am. Thank you."]


def test_in_spanish_the_refusal_and_a_noteless_alert_read_naturally(network):
    """The organizer and buddy read Spanish: the refusal says until when; the alert points at no note."""
    w = network
    w.text(ORGANIZER, "LANG ES")
    w.text(BUDDY, "LANG ES")
    w.reply(MEMBER, "START 5")
    assert w.reply(ORGANIZER, f"REMOVE {MEMBER}") == (
        "...0102 tiene un temporizador activo hasta 8:05 am, asi que sigue como miembro por ahora. "
        "Intenta REMOVE de nuevo cuando termine.")
    w.advance(10.1)
    [alert] = w.take(BUDDY)
    assert alert == ("Line: Rose no se ha reportado. Temporizador desde 8:00 am. Primero: llama o escribe ya al "
                     "+14155550102. Si no contesta, sigue intentando y pregunta a quien pueda saber donde esta. "
                     "Responde ACK (o VOY) cuando te estés encargando.")
    assert "alarma abierta" in w.reply(ORGANIZER, f"REMOVE {MEMBER}")


def test_a_buddy_whose_own_timer_runs_after_removal_is_told_how_to_end_it(network):
    """Someone who is also another member's buddy: an unclear text gets how to end their timer, not buddy help."""
    w = network
    w.text(ORGANIZER, f"BUDDY {MEMBER} Rose")  # Rose is now also the organizer's buddy (a contact once removed)
    w.text(MEMBER, "YES")
    _unenrolled_mid_timer(w)
    assert w.reply(MEMBER, "hello?").startswith("Your timer runs until 9:00am. Text OK when you are safe")
    assert "you are a buddy" in w.reply(MEMBER, "HELP")
    assert "Your timer runs until 9:00am" in w.reply(MEMBER, "HELP")
    assert w.reply(MEMBER, "OK") == "Good to hear. Your timer is ended."


def test_the_organizers_follow_up_names_who_acked_and_gives_the_number(network):
    """Two repeat periods after an ACK with no OK, organizers learn who said they were on it, and whom to call."""
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    w.reply(BUDDY, "ACK")
    w.take(ORGANIZER)
    w.advance(21)
    [stale] = [t for t in w.take(ORGANIZER) if "follow up" in t]
    assert "although Sam replied ACK" in stale and "call them at +14155550102" in stale
