"""Scripted conversations through the Flask test client, fakeredis and the recording transport."""
from __future__ import annotations

from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER


def test_enrolment_by_text(world):
    """ADD invites with a JOIN text; JOIN enrolls; BUDDY invites with YES; YES confirms and tells the member."""
    assert "...0102" in world.reply(ORGANIZER, "ADD 415-555-0102 Rose")
    assert "JOIN" in world.take(MEMBER)[0]
    assert "Rose" in world.reply(MEMBER, "join")
    assert "...0103" in world.reply(MEMBER, "BUDDY (415) 555 0103 Sam")
    invite = world.take(BUDDY)
    assert len(invite) == 1 and "Rose" in invite[0] and "YES" in invite[0]
    assert "Rose" in world.reply(BUDDY, "yes")
    assert any("Sam accepted" in t for t in world.take(MEMBER))
    assert "Sam ...0103" in world.reply(MEMBER, "BUDDIES")


def test_lapse_alerts_buddy_after_reminder_timeup_and_grace(network):
    """START 30: reminder at 20, time's up at 30, alert at 35 with alias, start time and note."""
    w = network
    assert "Timer on until" in w.reply(MEMBER, "START 30 Hilton rm 212")
    w.advance(19.9)
    assert w.take(MEMBER) == [] and w.take(BUDDY) == []
    w.advance(0.2)
    assert "Reminder" in w.take(MEMBER)[0]
    w.advance(10)
    assert "time is up" in w.take(MEMBER)[0]
    w.advance(4.8)
    assert w.take(BUDDY) == []
    w.advance(0.3)
    alert = w.take(BUDDY)
    assert len(alert) == 1
    assert "Rose" in alert[0] and "Hilton rm 212" in alert[0] and "ACK" in alert[0]
    assert "alerted" in w.take(MEMBER)[0]


def test_ok_before_the_end_alerts_nobody(network):
    w = network
    w.reply(MEMBER, "START 30")
    w.advance(10)
    assert "ended" in w.reply(MEMBER, "ok thanks")
    w.advance(120)
    assert w.take(BUDDY) == [] and w.take(ORGANIZER) == []


def test_ok_after_alert_stands_everyone_down_naming_the_alert_time(network):
    w = network
    w.reply(MEMBER, "START 10")
    w.advance(15.1)
    assert len(w.take(BUDDY)) == 1
    assert "stand down" in w.reply(MEMBER, "OK")
    sd = w.take(BUDDY)
    assert len(sd) == 1 and "safe" in sd[0] and "alert of" in sd[0]
    w.advance(60)
    assert w.take(BUDDY) == []


def test_repeats_add_organizers_and_stop_after_max_rounds(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert len(w.take(BUDDY)) == 1 and w.take(ORGANIZER) == []
    w.advance(10)
    assert len(w.take(BUDDY)) == 1
    assert len(w.take(ORGANIZER)) == 1
    w.advance(40)  # rounds 3..6
    assert len(w.take(BUDDY)) == 4
    org = w.take(ORGANIZER)
    assert len(org) == 4 and "LAST ALERT" in org[-1]
    w.advance(100)
    assert w.take(BUDDY) == [] and w.take(ORGANIZER) == []


def test_ack_stops_repeats_tells_member_and_organizers_follow_up(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(20.1)  # rounds 1 and 2
    w.take(BUDDY), w.take(ORGANIZER)
    assert "Rose" in w.reply(BUDDY, "ack")
    assert any("Sam" in t and "on it" in t for t in w.take(MEMBER))
    assert any("responding" in t for t in w.take(ORGANIZER))
    w.advance(19.9)
    assert w.take(BUDDY) == [] and w.take(ORGANIZER) == []
    w.advance(0.2)
    assert any("still not checked in" in t for t in w.take(ORGANIZER))
    assert "stand down" in w.reply(MEMBER, "OK")
    assert len(w.take(BUDDY)) == 1


def test_extend_moves_the_end_but_not_after_alerts(network):
    w = network
    w.reply(MEMBER, "START 10")
    assert "until" in w.reply(MEMBER, "extend 30")
    w.advance(15.1)
    assert w.take(BUDDY) == []
    w.advance(30)
    assert len(w.take(BUDDY)) == 1
    assert "cannot change" in w.reply(MEMBER, "EXTEND 10")


def test_sos_alerts_at_once(network):
    w = network
    assert "Alert sent" in w.reply(MEMBER, "SOS blue car ABC123")
    alert = w.take(BUDDY)
    assert len(alert) == 1 and "help" in alert[0] and "ABC123" in alert[0]


def test_second_start_replaces_and_stands_down_first(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert len(w.take(BUDDY)) == 1
    assert "earlier timer" in w.reply(MEMBER, "START 30")
    assert "safe" in w.take(BUDDY)[0]
    w.advance(20)
    assert w.take(BUDDY) == []


def test_member_without_buddy_is_warned_and_organizers_get_alerts(world):
    world.text(ORGANIZER, f"ADD {MEMBER}")
    world.text(MEMBER, "JOIN")
    replies = world.text(MEMBER, "START 5")
    assert any("no confirmed buddy" in r for r in replies)
    world.take(ORGANIZER)
    world.advance(10.1)
    assert len(world.take(ORGANIZER)) == 1


def test_stranger_gets_one_neutral_reply_and_learns_nothing(network):
    w = network
    first = w.text("+14155550999", "START 10")
    assert len(first) == 1 and "Rose" not in first[0]
    assert w.text("+14155550999", f"BUDDIES") == []
    assert w.line.store.timer(w.line.store.pid_for("+14155550999") or "none") is None


def test_non_organizer_cannot_add(network):
    w = network
    assert "Only organizers" in w.reply(MEMBER, "ADD 415 555 0199")
    assert w.take("+14155550199") == []


def test_no_buddy_invitation_after_no(network):
    w = network
    w.reply(MEMBER, f"BUDDY {BUDDY2} Lee")
    assert len(w.take(BUDDY2)) == 1
    w.reply(BUDDY2, "no")
    assert any("declined" in t for t in w.take(MEMBER))
    assert "cannot be invited" in w.reply(MEMBER, f"BUDDY {BUDDY2} Lee")
    assert w.take(BUDDY2) == []


def test_bare_yes_with_several_invitations_asks_which(world):
    for m in ("+14155550110", "+14155550111"):
        world.text(ORGANIZER, f"ADD {m}")
        world.text(m, "JOIN")
        world.text(m, f"BUDDY {BUDDY}")
    assert "YES 1" in world.reply(BUDDY, "YES")
    assert "buddy" in world.reply(BUDDY, "YES 2")
    assert "buddy" in world.reply(BUDDY, "YES")


def test_ack_answers_every_alarm_and_names_them(world):
    members = ("+14155550110", "+14155550111")
    for m, name in zip(members, ("Ana", "Bea")):
        world.text(ORGANIZER, f"ADD {m} {name}")
        world.text(m, "JOIN")
        world.text(m, f"BUDDY {BUDDY}")
        world.text(BUDDY, "YES")
        world.text(m, "START 5")
    world.take(BUDDY)
    world.advance(10.1)
    assert len(world.take(BUDDY)) == 2
    reply = world.reply(BUDDY, "ACK")
    assert "Ana" in reply and "Bea" in reply


def test_repeated_message_sid_is_acted_on_once(network):
    w = network
    r1 = w.post(MEMBER, "SOS", sid="SM" + "7" * 32)
    w.run_jobs()
    r2 = w.post(MEMBER, "SOS", sid="SM" + "7" * 32)
    w.run_jobs()
    assert r1.data == r2.data
    assert len(w.take(BUDDY)) == 1
    assert w.timer(MEMBER).round == 1


def test_members_lists_masked_numbers(network):
    reply = network.reply(ORGANIZER, "MEMBERS")
    assert "Members: 2" in reply and "...0102" in reply and "4155550102" not in reply


def test_remove_ends_membership(network):
    w = network
    assert "no longer" in w.reply(ORGANIZER, f"REMOVE {MEMBER}")
    assert w.text(MEMBER, "START 10") != ["Timer"]
    assert not w.line.store.is_member(w.line.store.pid_for(MEMBER))


def test_organizer_invite_accepted_with_yes(network):
    w = network
    w.reply(ORGANIZER, f"ORGANIZER {BUDDY}")
    assert "organizer" in w.take(BUDDY)[0]
    assert "organizer" in w.reply(BUDDY, "YES")
    assert "Members:" in w.reply(BUDDY, "MEMBERS")


def test_invitations_are_rate_limited(network):
    w = network
    for i in range(9):  # the network fixture already invited one buddy
        assert "Invitation sent" in w.reply(MEMBER, f"BUDDY +1415555{1000 + i}")
    assert "Too many" in w.reply(MEMBER, "BUDDY +14155552000")
    assert w.take("+14155552000") == []


def test_name_and_unbuddy(network):
    w = network
    assert "Star" in w.reply(MEMBER, "NAME Star")
    assert "no longer" in w.reply(MEMBER, f"UNBUDDY {BUDDY}")
    assert any("no longer" in t for t in w.take(BUDDY))
    assert "no buddies" in w.reply(MEMBER, "BUDDIES")


def test_time_of_day_start_states_the_end(network):
    w = network
    # T0 is 2027-01-15 08:00 UTC
    assert "10:30pm" in w.reply(MEMBER, "START 10:30pm")
    t = w.timer(MEMBER)
    assert t.ends_at - w.now == 14.5 * 3600


BAD = ["", "   ", "blah", "START 0", "START 9999", "START abc", "x" * 2000, "\U0001F600\U0001F600",
       "BUDDY 12", "BUDDY +1 555", "ADD 12", "EXTEND", "OK but he is here"]


def test_bad_input_gets_short_reply_and_changes_nothing(network):
    w = network
    skip = (b"sl:seen", b"sl:rl:", b"sl:fl:")  # dedupe marks, reply-rate and flood counters may change
    before = {k: w.redis.dump(k) for k in w.redis.keys("sl:*") if not k.startswith(skip)}
    for body in BAD:
        replies = w.text(MEMBER, body)
        assert len(replies) == 1 and 0 < len(replies[0]) <= 160, (body, replies)
    after = {k: w.redis.dump(k) for k in w.redis.keys("sl:*") if not k.startswith(skip)}
    assert before == after


def test_timer_records_expire(network):
    w = network
    w.reply(MEMBER, "START 10")
    w.reply(MEMBER, "OK")
    key = "sl:t:" + w.line.store.pid_for(MEMBER)
    assert 0 < w.redis.ttl(key) <= 8 * 86400


def test_no_key_holds_a_phone_number(network):
    network.reply(MEMBER, "START 5")
    network.advance(10.1)
    for k in network.redis.keys("*"):
        assert b"4155550" not in k, k


def test_close_typos_are_suggested_and_not_acted_on(network):
    w = network
    assert "Did you mean: START 60?" in w.reply(MEMBER, "strat 60")
    assert w.timer(MEMBER) is None
    w.reply(MEMBER, "START 30")
    assert "EXTEND 15" in w.reply(MEMBER, "exted 15")
    assert w.timer(MEMBER).ends_at - w.now == 30 * 60


def test_a_typo_of_sos_alerts(network):
    w = network
    w.reply(MEMBER, "sso")
    assert len(w.take(BUDDY)) == 1


def test_a_member_is_answered_every_time_and_only_numbers_with_no_record_are_limited(network):
    """A frightened person who mistypes must never meet silence; a loop with an unknown number must stop."""
    w = network
    replies = [w.text(MEMBER, f"zzqx{i}") for i in range(8)]
    assert all(len(r) == 1 for r in replies), replies
    stranger = [w.text("+14155550177", f"zzqx{i}") for i in range(8)]
    assert sum(len(r) for r in stranger) == 1


def test_help_while_a_timer_runs_says_only_ok_ends_it_and_sos(network):
    w = network
    w.reply(MEMBER, "START 30")
    reply = w.reply(MEMBER, "HELP")
    assert "STOP does not end it" in reply and "SOS alerts" in reply
