"""Abuse and privacy at rest (issue 12): records that lapse, caps before writes, one invitation per
pending request, no oracles, read-only replays, floods. Driven through /sms as phones would."""
from __future__ import annotations

import threading

import pytest

from smsline.commands import parse
from smsline.handlers import inbound, people
from smsline.store import DAY, INVITE_TTL, LAPSED_TTL, Keys
from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER
from tests.helpers import enroll_by_texts

STRANGER = "+14155550777"
WEEK, MONTH = INVITE_TTL, LAPSED_TTL


def person_keys(w, number: str) -> dict[str, bytes]:
    """The keys that hold a person's record, by role: record, number lookup, links both ways, declines."""
    store = w.line.store
    pid = store.pid_for(number)
    assert pid, f"no record for {number}"
    return {"record": Keys.person.format(pid=pid), "lookup": Keys.by_number.format(h=store.number_hash(number)),
            "links": Keys.buddies.format(pid=pid), "buddy_of": Keys.buddy_of.format(pid=pid),
            "declined": Keys.declined.format(pid=pid)}


def ttls(w, number: str) -> dict[str, int]:
    """Seconds left on each of the person's keys that exist (-1: kept without expiry)."""
    out = {}
    for role, key in person_keys(w, number).items():
        t = w.redis.ttl(key)
        if t != -2:
            out[role] = t
    return out


def lapses_in(w, number: str, seconds: int) -> None:
    got = ttls(w, number)
    assert got and "record" in got and "lookup" in got, got
    for role, t in got.items():
        assert seconds - 60 <= t <= seconds, (role, t, got)


def kept(w, number: str) -> None:
    got = ttls(w, number)
    assert got and all(t == -1 for t in got.values()), got


def member(w, number: str, name: str = "") -> None:
    enroll_by_texts(w.text, ORGANIZER, number, name)
    w.take(number)


# 1. Every record has an expiry or an owner ---------------------------------------------------------

def test_an_added_number_that_never_joins_lapses_with_its_invitation_in_a_week(world):
    world.text(ORGANIZER, f"ADD {STRANGER} Ivy")
    lapses_in(world, STRANGER, WEEK)
    pid = world.line.store.pid_for(STRANGER)
    assert WEEK - 60 <= world.redis.ttl(Keys.member_invite.format(pid=pid)) <= WEEK


def test_join_lifts_the_expiry_of_an_invitee(world):
    world.text(ORGANIZER, f"ADD {STRANGER} Ivy")
    world.text(STRANGER, "JOIN")
    kept(world, STRANGER)


def test_an_unanswered_buddy_invitee_and_the_pending_link_lapse_after_a_week(network):
    w = network
    assert "Invitation sent" in w.reply(MEMBER, f"BUDDY {BUDDY2} Lee")
    lapses_in(w, BUDDY2, WEEK)
    store = w.line.store
    mpid, bpid = store.pid_for(MEMBER), store.pid_for(BUDDY2)
    assert store.buddy_invite_lapses(mpid, bpid) == w.now + WEEK
    w.now += WEEK + 60  # a week on, nobody answered
    assert "waiting" not in w.reply(MEMBER, "BUDDIES")
    assert bpid not in store.buddy_links(mpid) and store.buddy_of(bpid) == {}
    assert w.redis.zcard(Keys.buddy_invites) == 0


def test_the_sweep_lapses_pending_buddy_links_even_when_nobody_looks(network):
    from smsline import jobs

    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Lee")
    store = w.line.store
    mpid, bpid = store.pid_for(MEMBER), store.pid_for(BUDDY2)
    with w.app.app_context():
        jobs.sweep(now=w.now + WEEK - 60, direct=True)
        assert bpid in store.buddy_links(mpid)
        jobs.sweep(now=w.now + WEEK + 1, direct=True)
    assert bpid not in store.buddy_links(mpid) and store.buddy_of(bpid) == {}


def test_a_buddy_who_says_no_keeps_a_record_for_30_days_then_it_lapses(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Lee")
    w.text(BUDDY2, "NO")
    lapses_in(w, BUDDY2, MONTH)
    assert "declined" in ttls(w, BUDDY2)  # the NO itself lapses with the record


def test_yes_lifts_the_expiry_of_a_buddy(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Lee")
    w.text(BUDDY2, "YES")
    kept(w, BUDDY2)
    assert w.redis.zcard(Keys.buddy_invites) == 0


def test_an_unbuddied_buddy_lapses_in_30_days_unless_another_member_still_counts_on_them(network):
    w = network
    kept(w, BUDDY)
    w.text(MEMBER, f"UNBUDDY {BUDDY}")
    lapses_in(w, BUDDY, MONTH)
    # Buddy again, for another member: kept again, atomically with the link.
    member(w, BUDDY2, "Ann")
    w.text(BUDDY2, f"BUDDY {BUDDY} Sam")
    w.text(BUDDY, "YES")
    kept(w, BUDDY)
    w.text(MEMBER, f"BUDDY {BUDDY} Sam")
    w.text(BUDDY, "YES")
    w.text(MEMBER, f"UNBUDDY {BUDDY}")
    kept(w, BUDDY)  # Ann still counts on them


def test_a_removed_member_and_their_buddies_lapse_in_30_days_and_rejoining_keeps_them(network):
    w = network
    w.text(ORGANIZER, f"REMOVE {MEMBER}")
    lapses_in(w, MEMBER, MONTH)
    lapses_in(w, BUDDY, MONTH)  # Sam served only Rose
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "JOIN")
    kept(w, MEMBER)
    kept(w, BUDDY)


def test_a_declined_membership_invitation_lapses_in_30_days(world):
    world.text(ORGANIZER, f"ADD {STRANGER}")
    world.text(STRANGER, "NO")
    lapses_in(world, STRANGER, MONTH)


def test_no_key_outside_the_known_global_ones_is_left_without_expiry_after_the_flows(network):
    """After ADD-no-JOIN, BUDDY-then-NO, UNBUDDY and REMOVE, every person key left forever belongs to a member."""
    w = network
    w.text(ORGANIZER, f"ADD {STRANGER}")
    w.text(MEMBER, f"BUDDY {BUDDY2}")
    w.text(BUDDY2, "NO")
    w.text(MEMBER, f"UNBUDDY {BUDDY}")
    w.text(ORGANIZER, "ADD +14155550888")
    w.text("+14155550888", "JOIN")
    w.text(ORGANIZER, "REMOVE +14155550888")
    store = w.line.store
    kept_pids = set(store.members())
    for key in w.redis.scan_iter("sl:*"):
        k = key.decode()
        if w.redis.ttl(key) != -1 or k.startswith(("sl:members", "sl:organizers", "sl:optout", "sl:inv:b", "sl:due",
                                                       "sl:alerting", "sl:outbox", "sl:sim:", "rq:")):
            continue
        if k.startswith("sl:n:"):
            assert w.redis.get(key).decode() in kept_pids, k
        else:
            assert k.rsplit(":", 1)[1] in kept_pids, k


# 2. Caps before writes -----------------------------------------------------------------------------

def test_300_buddy_commands_add_no_more_records_than_invitations_allowed(network):
    w = network
    before = len(list(w.redis.scan_iter("sl:p:*")))
    flood = Keys.flood.format(h=w.line.store.number_hash(MEMBER))
    replies = []
    for i in range(300):
        w.redis.delete(flood)  # spread out over hours, as if: this pins the caps, not the flood limit
        replies.append(w.reply(MEMBER, f"BUDDY +1415556{i:04d}"))
    sent = sum("Invitation sent" in r for r in replies)
    assert sent == people.INVITES_PER_DAY - 1  # the fixture's own invitation used one
    assert len(list(w.redis.scan_iter("sl:p:*"))) - before == sent
    assert len(list(w.redis.scan_iter("sl:n:*"))) - before == sent
    assert all("Too many" in r for r in replies[sent:])


# 3. One invitation per pending request -------------------------------------------------------------

def test_buddy_four_times_sends_one_invitation_and_says_when_it_lapses(network):
    w = network
    first = w.reply(MEMBER, f"BUDDY {BUDDY2} Lee")
    later = [w.reply(MEMBER, f"BUDDY {BUDDY2} Lee") for _ in range(3)]
    assert "Invitation sent" in first
    assert all("already waiting" in r and "7 day" in r and "...0104" in r for r in later), later
    assert len(w.take(BUDDY2)) == 1
    w.now += 3 * DAY
    assert "4 day" in w.reply(MEMBER, f"BUDDY {BUDDY2} Lee")
    assert w.take(BUDDY2) == []
    w.now += 4 * DAY + 60  # lapsed: a new request makes a new invitation
    assert "Invitation sent" in w.reply(MEMBER, f"BUDDY {BUDDY2} Lee")
    assert len(w.take(BUDDY2)) == 1


@pytest.mark.parametrize("command", ["ADD", "ORGANIZER"])
def test_add_and_organizer_four_times_send_one_invitation(world, command):
    replies = [world.reply(ORGANIZER, f"{command} {STRANGER}") for _ in range(4)]
    assert "Invitation sent" in replies[0]
    assert all("already waiting" in r for r in replies[1:]), replies
    assert len(world.take(STRANGER)) == 1


def test_concurrent_buddy_requests_for_one_number_make_one_pending_link(network):
    """The pending link is written by one script that checks for a waiting one: no read-then-write race."""
    w = network
    store = w.line.store
    mpid, bpid = store.pid_for(MEMBER), store.ensure_person(BUDDY2)
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.invite_buddy(mpid, bpid, BUDDY2, "Lee", w.now)[0]))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["invited"] + ["waiting"] * 7


# 4. Same reply for the same question ---------------------------------------------------------------

def test_an_opted_out_number_gets_the_fresh_numbers_reply_and_counts_against_the_cap_alike(world):
    """An opted-out number is invited as a fresh one is (texted nothing), and a capped one is capped either way."""
    members = [f"+141555502{i:02d}" for i in range(5)]
    for m in members:
        member(world, m)
    capped, opted_out = "+14155550301", "+14155550302"
    world.text(opted_out, "STOP")
    for m in members[:people.INVITATIONS_RECEIVED_PER_DAY]:
        assert "Invitation sent" in world.reply(m, f"BUDDY {capped}")
        assert "Invitation sent" in world.reply(m, f"BUDDY {opted_out}")
    asker = members[-1]
    to_capped = world.text(asker, f"BUDDY {capped}")
    to_opted_out = world.text(asker, f"BUDDY {opted_out}")
    assert to_capped == to_opted_out and "Too many" in to_capped[0]
    assert world.take(opted_out) == []
    assert len(world.take(capped)) == people.INVITATIONS_RECEIVED_PER_DAY


BODIES = ["JOIN", "YES", "NO", "YES 2", "HELP", "STATUS", "START 10", "OK", "BUDDIES", "LANG ES", "hello", "SOS",
          "ACK", "STOP", "UNSTOP", "JOIN"]


def _conversation(w, number: str) -> list[list[str]]:
    return [w.text(number, b) for b in BODIES]


@pytest.mark.parametrize("how", ["declined buddy", "lapsed buddy invitee", "removed member", "unbuddied buddy",
                                 "declined member invitation"])
def test_a_number_with_a_non_member_record_gets_exactly_the_stranger_replies(network, how):
    w = network
    other = "+14155550555"
    if how == "declined buddy":
        w.text(MEMBER, f"BUDDY {other}")
        w.text(other, "NO")
    elif how == "lapsed buddy invitee":
        w.text(MEMBER, f"BUDDY {other}")
        w.now += WEEK + 60
    elif how == "removed member":
        member(w, other)
        w.text(ORGANIZER, f"REMOVE {other}")
    elif how == "unbuddied buddy":
        w.text(MEMBER, f"BUDDY {other}")
        w.text(other, "YES")
        w.text(MEMBER, f"UNBUDDY {other}")
    else:
        w.text(ORGANIZER, f"ADD {other}")
        w.text(other, "NO")
    assert w.line.store.pid_for(other)  # the record is still there (it lapses later)
    w.take(other)
    with_record = _conversation(w, other)
    never_seen = _conversation(w, STRANGER)
    assert [[r.encode() for r in rs] for rs in with_record] == [[r.encode() for r in rs] for rs in never_seen]
    assert w.take(other) == w.take(STRANGER) == []


# 5. Read-only texts are deduplicated --------------------------------------------------------------

def test_a_replayed_status_never_shows_the_timer_and_note_as_they_are_now(network):
    """A captured STATUS (same MessageSid) replayed after a new START gets nothing: not the new end nor note."""
    w = network
    sid = "SM" + "a" * 32
    first = w.post(MEMBER, "STATUS", sid=sid)
    assert b"No timer" in first.data or b"no timer" in first.data.lower()
    w.text(MEMBER, "START 90 Motel 6 room 12")
    replay = w.post(MEMBER, "STATUS", sid=sid)
    assert replay.status_code == 200 and b"<Message>" not in replay.data and b"Motel" not in replay.data
    assert w.redis.ttl(Keys.seen.format(sid=sid)) > DAY  # as long as any claim: Twilio redelivers within that


def test_a_replayed_help_from_a_member_with_covert_words_gets_the_first_reply(network):
    """A screened member's question takes the careful path: the first reply is kept and given back."""
    w = network
    w.text(MEMBER, "SAFEWORD bluebird")
    sid = "SM" + "b" * 32
    first = w.post(MEMBER, "HELP", sid=sid).data
    w.text(MEMBER, "START 30 bluebird")
    assert w.post(MEMBER, "HELP", sid=sid).data == first


# 6. Floods -------------------------------------------------------------------------------------

def test_thirty_sos_in_a_row_make_one_round_and_one_reminder_to_those_who_have_not_acked(network):
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Lee")
    w.text(BUDDY2, "YES")
    w.take(MEMBER)
    w.take(BUDDY2)
    replies = []
    for i in range(30):
        replies.append(w.reply(MEMBER, "SOS" if i != 1 else "SOS blue car"))
        if i == 0:
            w.text(BUDDY, "ACK")
        w.now += 1
    assert all("Alert sent" in r for r in replies)
    sam, lee = w.take(BUDDY), w.take(BUDDY2)
    assert len(sam) == 1 + 0 and "asked for help" in sam[0]  # Sam ACKed: no reminder
    assert len(lee) == 3, lee  # the alert, Sam is on it, one reminder
    assert "still asks for help" in lee[2] and "blue car" in lee[2]
    assert w.timer(MEMBER).round == 1
    # After the minute, an SOS is a new round to everyone again.
    w.now += 60
    w.text(MEMBER, "SOS")
    assert w.timer(MEMBER).round == 2 and len(w.take(BUDDY)) == 1 and len(w.take(BUDDY2)) == 1


def _flood(w, number: str, body: str, n: int) -> list[list[str]]:
    w.redis.delete(Keys.flood.format(h=w.line.store.number_hash(number)))  # a fresh minute
    return [w.text(number, body) for _ in range(n)]


def test_a_flood_from_one_number_is_held_back_after_the_limit_with_one_short_reply(network):
    """A member past the limit gets one short slow-down reply per text (never silence); a stranger one a minute."""
    w = network
    limit = inbound.FLOOD_PER_MINUTE
    replies = _flood(w, MEMBER, "BUDDIES", limit + 30)
    assert all(len(r) == 1 and "Sam" in r[0] for r in replies[:limit])
    assert all(len(r) == 1 and "Too many texts" in r[0] for r in replies[limit:])
    stranger = _flood(w, "+14155550999", "hello", limit + 5)
    assert len(stranger[limit]) == 1 and "Too many texts" in stranger[limit][0]
    assert all(r == [] for r in stranger[limit + 1:])


@pytest.mark.parametrize("body", ["OK", "SOS", "START 30", "EXTEND 10", "safe", "ACK", "STOP"])
def test_a_flood_never_holds_back_ok_sos_ack_stop_or_anything_that_ends_a_timer(network, body):
    w = network
    _flood(w, MEMBER, "BUDDIES", inbound.FLOOD_PER_MINUTE + 5)
    pid = w.line.store.pid_for(MEMBER)
    sender, _ = w.line.store.claim_inbound("SM" + "e" * 32, MEMBER, exempt=inbound.flood_exempt(parse(body)),
                                           flood_limit=inbound.FLOOD_PER_MINUTE)
    assert not sender.held and sender.pid == pid


def test_a_member_flooding_still_gets_ok_and_sos_acted_on(network):
    w = network
    w.text(MEMBER, "START 30 cafe")
    _flood(w, MEMBER, "hello", inbound.FLOOD_PER_MINUTE + 10)
    assert "timer is ended" in w.reply(MEMBER, "OK")
    assert not w.timer(MEMBER).live
    w.take(BUDDY)
    assert "Alert sent" in w.reply(MEMBER, "SOS")
    assert len(w.take(BUDDY)) == 1


def test_a_member_with_covert_words_is_never_held_back(network):
    """Any text of theirs may carry the duress word, so each is screened in full."""
    w = network
    w.text(MEMBER, "DURESS tulip")
    w.text(MEMBER, "START 30")
    _flood(w, MEMBER, "BUDDIES", inbound.FLOOD_PER_MINUTE + 5)
    w.take(BUDDY)
    w.text(MEMBER, "BUDDIES tulip")
    assert w.timer(MEMBER).covert and len(w.take(BUDDY)) == 1


def test_the_flood_limit_is_per_number(network):
    w = network
    _flood(w, "+14155550999", "hello", inbound.FLOOD_PER_MINUTE + 5)
    assert "Sam" in w.reply(MEMBER, "BUDDIES")


def test_the_index_of_alarms_that_reached_a_buddy_expires_with_the_deliveries(network):
    """An alarm nobody ends (the member never texts OK) must not leave the buddy's index behind forever."""
    w = network
    w.text(MEMBER, "SOS")
    key = Keys.alerted_for.format(pid=w.line.store.pid_for(BUDDY))
    assert 13 * DAY < w.redis.ttl(key) <= 14 * DAY


def test_the_slow_down_reply_is_in_the_members_language(network):
    w = network
    w.text(MEMBER, "LANG ES")
    replies = _flood(w, MEMBER, "BUDDIES", inbound.FLOOD_PER_MINUTE + 2)
    assert replies[inbound.FLOOD_PER_MINUTE] and "Demasiados mensajes" in replies[inbound.FLOOD_PER_MINUTE][0]
