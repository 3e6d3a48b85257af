"""Findings of the new-user trial, each driven through /sms as phones would:

1. only an answer to a waiting invitation (or LANG) sets someone's language; no other word switches it;
2. someone invited who writes something not understood is reminded of what waits, in both languages
   unless they chose one or wrote plain Spanish, within the reply cap, and nobody else learns anything;
3. an organizer's REMOVE cancels a waiting member or organizer invitation, atomically with JOIN and YES;
4. broadcasts start with the line's name like every other text, and the length cap counts it.
"""
from __future__ import annotations

from smsline import messages
from smsline.gsm7 import septets
from smsline.handlers import inbound, talk
from smsline.store import Keys
from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER

IVY = "+14155550110"
KIM = "+14155550111"
NOBODY = "+14155550177"


def person(w, number: str) -> dict:
    pid = w.line.store.pid_for(number)
    return w.line.store.person(pid) if pid else {}


def alarm(w) -> None:
    """Rose's timer runs out and Sam (BUDDY) is alerted."""
    w.reply(MEMBER, "START 1")
    w.advance(7)
    w.take(MEMBER)


# ---------------------------------------------------------------- 1. language only from consent or LANG


def test_a_buddy_who_once_writes_voy_still_gets_english_alarms_after(network):
    """The trial's buddy: "on my way", then once "voy". The ACK works; nothing later turns Spanish."""
    w = network
    alarm(w)
    assert any("has not checked in" in t for t in w.take(BUDDY))
    reply = w.reply(BUDDY, "voy")
    assert "Rose" in reply  # the ACK is taken (and may be answered in the words' language)
    assert person(w, BUDDY).get("lang", "en") == "en" and not person(w, BUDDY).get("lang_chosen")
    w.reply(MEMBER, "OK")
    standdown = w.take(BUDDY)
    assert standdown and all("says they are safe" in t for t in standdown), standdown
    alarm(w)
    alerts = w.take(BUDDY)
    assert alerts and all("has not checked in" in t for t in alerts), alerts
    assert "you are a buddy" in w.reply(BUDDY, "HELP")


def test_spanish_words_from_a_member_answer_that_text_only(network):
    """AYUDA, ACEPTO or SI from someone who never chose a language: that reply in Spanish, the next in English."""
    w = network
    assert "Manda" in w.reply(MEMBER, "AYUDA")
    assert "Timer on" in w.reply(MEMBER, "START 30")
    assert "Ya es" not in w.reply(MEMBER, "SI")
    assert "Timer on until" in w.reply(MEMBER, "STATUS")
    assert not person(w, MEMBER).get("lang_chosen")


def test_si_to_a_waiting_buddy_invitation_sets_spanish(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    w.take(BUDDY2)
    assert "Ya eres contacto de confianza" in w.reply(BUDDY2, "si")
    assert person(w, BUDDY2).get("lang") == "es"
    assert "eres contacto de confianza" in w.reply(BUDDY2, "HELP")


def test_claro_que_si_and_unirme_to_waiting_invitations_set_spanish(world):
    w = world
    w.text(ORGANIZER, f"ADD {IVY} Ivy")
    assert "Te damos la bienvenida" in w.reply(IVY, "unirme")
    assert person(w, IVY).get("lang") == "es"
    w.text(IVY, f"BUDDY {KIM} Kim")
    assert "Ya eres contacto de confianza" in w.reply(KIM, "claro que si")
    assert person(w, KIM).get("lang") == "es"


def test_lang_still_switches_and_english_yes_sets_nothing(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    assert "You are now a buddy" in w.reply(BUDDY2, "yes")
    assert not person(w, BUDDY2).get("lang_chosen")
    w.reply(BUDDY2, "ESPAÑOL")
    assert person(w, BUDDY2).get("lang") == "es"
    assert "English" in w.reply(BUDDY2, "LANG EN")
    assert "you are a buddy" in w.reply(BUDDY2, "HELP")


# ---------------------------------------------------------------- 2. a reminder for someone invited


def test_a_buddy_invitee_who_asks_who_is_this_is_reminded_in_both_languages(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    reply = w.reply(BUDDY2, "who is this?")
    assert reply == messages.render("remind_buddy_both", "en", network="Line", member="Rose")
    assert reply.startswith("Line: Rose") and "YES or NO" in reply and "SI o NO" in reply
    assert septets(reply) <= 160
    assert person(w, BUDDY2).get("lang", "en") == "en"  # nothing chosen for them


def test_plain_spanish_gets_the_reminder_in_spanish_and_a_chosen_language_is_kept(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    assert w.reply(BUDDY2, "quien es?") == messages.render("remind_buddy", "es", network="Line", member="Rose")
    assert not person(w, BUDDY2).get("lang_chosen")
    w.reply(BUDDY2, "LANG EN")
    assert w.reply(BUDDY2, "hola") == messages.render("remind_buddy", "en", network="Line", member="Rose")


def test_member_and_organizer_invitees_are_reminded_of_their_invitation(world):
    w = world
    w.text(ORGANIZER, f"ADD {IVY} Ivy")
    assert w.reply(IVY, "hola") == messages.render("remind_member", "es", network="Line")
    assert w.reply(IVY, "hi who is this") == messages.render("remind_member_both", "en", network="Line")
    w.text(ORGANIZER, f"ORGANIZER {KIM}")
    reply = w.reply(KIM, "who is this")
    assert reply == messages.render("remind_organizer_both", "en", network="Line")
    assert "YES" in reply and "SI" in reply


def test_several_invitations_are_listed_in_the_reminder(network):
    w = network
    w.text(ORGANIZER, f"ADD {BUDDY2} Ana")
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    reply = w.reply(BUDDY2, "who is this")
    assert reply.startswith("Line: 2 invitations") and "1 to join" in reply and "2 Rose" in reply, reply


def test_nothing_is_revealed_without_a_waiting_invitation(network):
    """A number never invited, a confirmed buddy and a member hear what they heard before."""
    w = network
    assert w.reply(NOBODY, "who is this?") == messages.render("stranger", "en")
    assert w.text(NOBODY, "who is this?") == []
    assert w.reply(BUDDY, "who is this?") == messages.render("unknown", "en")
    assert w.reply(MEMBER, "who is this?") == messages.render("unknown", "en")


def test_the_reminder_keeps_the_invitee_reply_cap_so_an_auto_responder_stops(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    replies = []
    for i in range(talk.CONTACT_REPLIES_PER_HOUR + 2):
        # The per-number flood window runs in real seconds: clear it, so this pins the hourly cap alone.
        w.redis.delete(Keys.flood.format(h=w.line.store.number_hash(BUDDY2)))
        replies.append(w.text(BUDDY2, "Auto-reply: I am away"))
    cap = talk.CONTACT_REPLIES_PER_HOUR
    assert all(len(r) == 1 and "Rose" in r[0] for r in replies[:cap]) and replies[cap:] == [[], []]
    assert "You are now a buddy" in w.reply(BUDDY2, "YES")  # the cap never stands between them and YES


# ---------------------------------------------------------------- 3. REMOVE cancels a waiting invitation


def test_remove_cancels_a_member_invitation_and_join_then_gets_what_a_stranger_gets(world):
    w = world
    w.text(ORGANIZER, f"ADD {IVY} Ivy")
    w.take(IVY)
    assert w.reply(ORGANIZER, f"REMOVE {IVY}") == "Invitation to ...0110 cancelled. No text is sent to them about it."
    assert w.take(IVY) == []
    assert w.reply(IVY, "JOIN") == messages.render("stranger", "en")
    assert not w.line.store.is_member(w.line.store.pid_for(IVY))
    assert "Ivy" not in w.reply(ORGANIZER, "MEMBERS")
    assert w.reply(ORGANIZER, f"REMOVE {IVY}") == "...0110 is not a member."
    assert "Invitation sent" in w.reply(ORGANIZER, f"ADD {IVY} Ivy")  # and can be invited again
    assert "Welcome" in w.reply(IVY, "JOIN")


def test_remove_cancels_an_organizer_invitation(world):
    w = world
    w.text(ORGANIZER, f"ORGANIZER {KIM}")
    assert "cancelled" in w.reply(ORGANIZER, f"REMOVE {KIM}")
    assert w.text(KIM, "YES") == w.text(NOBODY, "YES")  # what a number never invited gets
    assert not w.line.store.is_organizer(w.line.store.pid_for(KIM))


def test_remove_of_a_member_also_drops_their_waiting_organizer_invitation(network):
    w = network
    w.text(ORGANIZER, f"ORGANIZER {MEMBER}")
    assert "no longer a member" in w.reply(ORGANIZER, f"REMOVE {MEMBER}")
    w.text(MEMBER, "YES")
    assert not w.line.store.is_organizer(w.line.store.pid_for(MEMBER))


def test_remove_says_nothing_of_a_waiting_buddy_invitation(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    assert w.reply(ORGANIZER, f"REMOVE {BUDDY2}") == "...0104 is not a member."
    assert "You are now a buddy" in w.reply(BUDDY2, "YES")


def test_a_remove_landing_inside_a_join_leaves_no_member(world, monkeypatch):
    """JOIN read the invitation; the organizer's REMOVE runs before it enrolls: the JOIN finds nothing."""
    w = world
    w.text(ORGANIZER, f"ADD {IVY} Ivy")
    store, real, seen = w.line.store, w.line.store.accept_invite, []

    def remove_first(*args, **kwargs):
        if not seen:
            seen.append(inbound.handle_inbound(w.line, ORGANIZER, f"REMOVE {IVY}"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "accept_invite", remove_first)
    assert w.reply(IVY, "JOIN") == messages.render("stranger", "en")
    assert seen == [["Invitation to ...0110 cancelled. No text is sent to them about it."]]
    assert not store.is_member(store.pid_for(IVY))
    assert "Ivy" not in w.reply(ORGANIZER, "MEMBERS")


def test_a_join_landing_inside_a_remove_joins_first_and_remove_acts_on_the_member(world, monkeypatch):
    w = world
    w.text(ORGANIZER, f"ADD {IVY} Ivy")
    store, real, seen = w.line.store, w.line.store.cancel_invites, []

    def join_first(*args, **kwargs):
        if not seen:
            seen.append(inbound.handle_inbound(w.line, IVY, "JOIN"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "cancel_invites", join_first)
    assert w.reply(ORGANIZER, f"REMOVE {IVY}") == "...0110 is no longer a member."
    assert "Welcome" in seen[0][0]
    assert not store.is_member(store.pid_for(IVY))
    assert any("no longer on Line" in t for t in w.take(IVY))


# ---------------------------------------------------------------- 4. broadcasts carry the line's name


def fast_network(make_world):
    """Rose a member, bulk texts sent fast."""
    w = make_world({"send_rate": 1000.0})
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "JOIN")
    w.take(MEMBER)
    return w


def test_a_broadcast_starts_with_the_line_name(make_world):
    w = fast_network(make_world)
    assert "Sending now" in w.reply(ORGANIZER, "BROADCAST Warning: white van near 5th st, do not get in")
    w.advance(1)
    assert w.take(MEMBER) == ["Line: Warning: white van near 5th st, do not get in"]


def test_the_broadcast_cap_counts_the_name(make_world):
    w = fast_network(make_world)
    room = 459 - len("Line: ")
    assert f"at most {room} characters" in w.reply(ORGANIZER, "BROADCAST")
    refused = w.reply(ORGANIZER, "BROADCAST " + "y" * (room + 1))
    assert f"That is {room + 1} characters" in refused and f"The most is {room}" in refused
    w.advance(1)
    assert w.take(MEMBER) == []
    assert "Sending now" in w.reply(ORGANIZER, "BROADCAST " + "y" * room)
    w.advance(1)
    got = w.take(MEMBER)
    assert got == ["Line: " + "y" * room] and septets(got[0]) == 459  # whole, never cut with "..."


# ---------------------------------------------------------------- 5. the organizers' guide quotes real texts


def _guide() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "ORGANIZERS.md").read_text()
    lines = [ln.strip().removeprefix(">").strip() for ln in text.splitlines()]
    return " ".join(" ".join(lines).replace('"', " ").split())


NS = {"network": "Northside Line", "member": "Rose", "phone": "+14155550102", "started_at": "9:40pm",
      "alert_at": "10:45pm", "note_part": " Note: Motel 6 room 12, grey Honda."}
GUIDE_TEXTS = [
    ("add_ok", {"number": "...0102"}),
    ("invite_member_both", {}),
    ("join_ok", {"alias": "Rose"}),
    ("buddy_yes", {"member": "Rose"}),
    ("buddy_accepted", {"name": "Sam"}),
    ("test_buddy", {}),
    ("alert_note", {"note": "Motel 6 room 12, grey Honda"}),
    ("ack_ok", {"names": "Rose"}),
    ("ack_member", {"by": "Sam"}),
    ("ack_others", {"by": "Sam"}),
    ("ack_stale", {"by": "Sam"}),
    ("standdown", {}),
    ("buddy_lost", {"name": "Sam ...0103"}),
    ("alert_last", {}),
    ("duress", {}),
    ("alerts_list", {"count": 1, "list": " Rose ...0102: alerted 10:45pm, 12 min ago. ACK by Sam."}),
    ("alerts_none", {}),
    ("remove_ok", {"number": "...0102"}),
    ("removed_notice", {}),
    ("remove_running", {"number": "...0102", "end_at": "10:40pm"}),
    ("remove_alerting", {"number": "...0102"}),
    ("invite_cancelled", {"number": "...0104"}),
    ("organizer_ok", {}),
]


def test_the_organizers_guide_quotes_the_texts_the_line_sends():
    guide = _guide()
    for key, fields in GUIDE_TEXTS:
        text = " ".join(messages.render(key, "en", **{**NS, **fields}).replace('"', " ").split())
        assert text in guide, (key, text)
    assert "ORGANIZER" in guide and "SMSLINE_MAX_ROUNDS" in guide and "6" in guide
