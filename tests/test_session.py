"""Pure tables for the timer state machine: (timer, event, now) -> (timer, effects).

No Redis and no clock: every event gets an explicit `now`, and a job is "run" by
calling `session.tick` with the version and stage the timer was armed with.
"""

import json

import pytest

from smsline import session
from smsline.session import (
    ACKCHECK, ALERT, ALERTING, ENDED, OVERDUE, REMIND, RUNNING, TIMEUP,
    Alert, People, Reply, StandDown, Tell, Timer, Timing,
)

M = 60.0  # seconds in one of the line's minutes
T0 = 1_700_000_000.0
TIMING = Timing(seconds_per_minute=M, reminder=10, grace=5, realert=10, max_rounds=6)

MEMBER, B1, B2, O1, O2 = "member", "buddy1", "buddy2", "org1", "org2"
BUDDIES = People(MEMBER, buddies=(B1, B2), organizers=(O1, O2))
NO_BUDDY = People(MEMBER, buddies=(), organizers=(O1, O2))
# A member who is also an organizer: never alerted about themselves.
ORG_MEMBER = People(MEMBER, buddies=(), organizers=(O1, MEMBER))
ORG_MEMBER_BUDDY = People(MEMBER, buddies=(B1,), organizers=(MEMBER, O1))
NOBODY = People(MEMBER, buddies=(), organizers=(MEMBER,))


# ---------------------------------------------------------------- helpers


def started(minutes=60, note="Hotel Mirabel room 12", people=BUDDIES, timing=TIMING, now=T0, prev=None):
    """A timer just started with START <minutes> <note>."""
    t, _ = session.start(prev, now, now + minutes * M, note, people, timing)
    return t


def fire(t, people=BUDDIES, timing=TIMING, now=None):
    """Run the one job the timer is armed for, at its due time (or at `now`)."""
    return session.tick(t, t.version, t.next_stage, t.next_at if now is None else now, people, timing)


def alerting(rounds=1, people=BUDDIES, timing=TIMING, minutes=60, note="Hotel Mirabel room 12"):
    """A timer run through reminder and time-up to the given number of alert rounds."""
    t = started(minutes, note, people, timing)
    while t.round < rounds:
        assert t.next_stage is not None, t
        t, _ = fire(t, people, timing)
    return t


def only(effects, kind):
    found = [e for e in effects if isinstance(e, kind)]
    assert len(found) == 1, effects
    return found[0]


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def reply_keys(effects):
    return [e.key for e in effects if isinstance(e, Reply)]


def first_alert_time(minutes=60, timing=TIMING):
    return T0 + timing.s(minutes) + timing.s(timing.grace)


# ---------------------------------------------------------------- START


@pytest.mark.parametrize(
    "minutes, reminder, stage, due_minutes",
    [
        (60, 10, REMIND, 50),   # longer than the reminder: remind 10 min before the end
        (11, 10, REMIND, 1),
        (10, 10, TIMEUP, 10),   # exactly the reminder: no reminder, straight to time-up
        (5, 10, TIMEUP, 5),
        (1, 10, TIMEUP, 1),
        (60, 0, TIMEUP, 60),    # reminders turned off
    ],
)
def test_start_arms_a_reminder_only_when_the_timer_is_longer_than_the_reminder(minutes, reminder, stage, due_minutes):
    timing = Timing(seconds_per_minute=M, reminder=reminder)
    t, effects = session.start(None, T0, T0 + minutes * M, "", BUDDIES, timing)
    assert (t.status, t.next_stage, t.next_at) == (RUNNING, stage, T0 + due_minutes * M)
    assert (t.started_at, t.ends_at, t.round, t.alerted) == (T0, T0 + minutes * M, 0, ())
    assert effects == [Reply("start_ok", {"end_at": T0 + minutes * M})]


def test_start_keeps_the_note_and_tells_the_end_time():
    t, effects = session.start(None, T0, T0 + 45 * M, "blue Honda ABC123", BUDDIES, TIMING)
    assert t.note == "blue Honda ABC123"
    assert t.kind == "timer"
    assert reply_keys(effects) == ["start_ok"]
    assert effects[0].fields["end_at"] == T0 + 45 * M


@pytest.mark.parametrize("people, key", [(NO_BUDDY, "start_no_buddy"), (ORG_MEMBER, "start_no_buddy"),
                                         (NOBODY, "start_nobody")], ids=["orgs", "member-is-org", "nobody"])
def test_start_without_a_confirmed_buddy_warns_who_gets_the_alerts(people, key):
    """Organizers get them; with no other organizer either, the member is told nobody would be alerted."""
    _, effects = session.start(None, T0, T0 + 30 * M, "", people, TIMING)
    assert reply_keys(effects) == ["start_ok", key]


@pytest.mark.parametrize("status_stage", [RUNNING, OVERDUE], ids=["running", "overdue"])
def test_start_over_a_timer_before_alerts_replaces_it_without_a_stand_down(status_stage):
    prev = started()
    if status_stage == OVERDUE:
        prev, _ = fire(prev)  # reminder
        prev, _ = fire(prev)  # time up
        assert prev.status == OVERDUE
    t, effects = session.start(prev, T0 + 70 * M, T0 + 100 * M, "", BUDDIES, TIMING)
    assert not of(effects, StandDown)
    assert reply_keys(effects) == ["start_replaced"]
    assert (t.tid, t.status, t.started_at, t.round) == (prev.tid + 1, RUNNING, T0 + 70 * M, 0)
    assert t.version > prev.version


def test_start_while_alerting_stands_everyone_down_with_the_first_alert_time_and_says_replaced():
    prev = alerting(rounds=2)
    now = prev.last_alert_at + 3 * M
    t, effects = session.start(prev, now, now + 30 * M, "new place", BUDDIES, TIMING)
    assert only(effects, StandDown) == StandDown(alert_at=first_alert_time())
    assert reply_keys(effects) == ["start_replaced"]
    assert (t.tid, t.status, t.round, t.alerted, t.first_alert_at) == (prev.tid + 1, RUNNING, 0, (), None)
    assert t.version > prev.version


def test_start_after_an_ended_timer_is_a_fresh_start_with_a_new_tid():
    prev, _ = session.ok(started(), T0 + 5 * M)
    t, effects = session.start(prev, T0 + 6 * M, T0 + 36 * M, "", BUDDIES, TIMING)
    assert reply_keys(effects) == ["start_ok"]
    assert not of(effects, StandDown)
    assert (t.tid, t.status) == (prev.tid + 1, RUNNING)
    assert t.version > prev.version


# ---------------------------------------------------------------- escalation


def test_reminder_then_time_up_then_first_alert_follow_the_spec_timing():
    """60-minute timer: reminder at 50, time up at 60, alert at 65, repeat due at 75."""
    t = started(60)
    t, effects = fire(t)
    assert effects == [Tell((MEMBER,), "reminder", {"end_at": T0 + 60 * M, "minutes": 10})]
    assert (t.status, t.next_stage, t.next_at) == (RUNNING, TIMEUP, T0 + 60 * M)

    t, effects = fire(t)
    assert effects == [Tell((MEMBER,), "timeup", {"minutes": 5})]
    assert (t.status, t.next_stage, t.next_at) == (OVERDUE, ALERT, T0 + 65 * M)

    t, effects = fire(t)
    alert = only(effects, Alert)
    assert alert == Alert(
        round=1, to=(B1, B2), key="alert",
        fields={"started_at": T0, "note": "Hotel Mirabel room 12", "round": 1, "alert_at": T0 + 65 * M},
        last_to=(),
    )
    assert only(effects, Tell) == Tell((MEMBER,), "member_alerted")
    assert (t.status, t.round, t.next_stage, t.next_at) == (ALERTING, 1, ALERT, T0 + 75 * M)
    assert (t.first_alert_at, t.last_alert_at, t.alerted) == (T0 + 65 * M, T0 + 65 * M, (B1, B2))


def _rounds(people, timing=TIMING):
    """Every alert round of an un-acked timer, in order, with the timer after each."""
    t = started(60, people=people, timing=timing)
    out = []
    while t.next_stage is not None:
        t, effects = fire(t, people, timing)
        for a in of(effects, Alert):
            out.append((a, t, effects))
    return out


# (people, round) -> (alerted in that round, of whom get the last-alert wording)
ROUND_TABLE = [
    (BUDDIES, 1, (B1, B2), ()),
    (BUDDIES, 2, (B1, B2, O1, O2), ()),
    (BUDDIES, 5, (B1, B2, O1, O2), ()),
    (BUDDIES, 6, (B1, B2, O1, O2), (O1, O2)),
    (NO_BUDDY, 1, (O1, O2), ()),
    (NO_BUDDY, 2, (O1, O2), ()),
    (NO_BUDDY, 6, (O1, O2), (O1, O2)),
    (ORG_MEMBER, 1, (O1,), ()),
    (ORG_MEMBER, 3, (O1,), ()),
    (ORG_MEMBER, 6, (O1,), (O1,)),
    (ORG_MEMBER_BUDDY, 1, (B1,), ()),
    (ORG_MEMBER_BUDDY, 2, (B1, O1), ()),
    (ORG_MEMBER_BUDDY, 6, (B1, O1), (O1,)),
]


@pytest.mark.parametrize("people, rnd, to, last_to", ROUND_TABLE)
def test_round_one_goes_to_buddies_or_else_organizers_and_later_rounds_add_organizers(people, rnd, to, last_to):
    """Round 1: confirmed buddies (organizers when none); from round 2 organizers too; round max: last alert."""
    alert, t, _ = _rounds(people)[rnd - 1]
    assert alert.round == rnd
    assert alert.to == to
    assert alert.last_to == last_to
    assert alert.key == ("alert" if rnd == 1 else "alert_repeat")


@pytest.mark.parametrize("people", [BUDDIES, NO_BUDDY, ORG_MEMBER, ORG_MEMBER_BUDDY, NOBODY],
                         ids=["buddies", "no-buddy", "member-is-org", "member-is-org-with-buddy", "nobody"])
def test_a_member_who_is_also_an_organizer_is_never_alerted_about_themselves(people):
    for alert, t, effects in _rounds(people):
        assert MEMBER not in alert.to
        assert MEMBER not in alert.last_to
        assert MEMBER not in t.alerted
    t = alerting(rounds=1, people=people)
    if t.alerted:
        t, _ = session.ack(t, t.alerted[0], t.last_alert_at + M, people, TIMING)
        _, effects = fire(t, people)
        for a in of(effects, Alert):
            assert MEMBER not in a.to


def test_alerts_repeat_every_realert_until_max_rounds_then_nothing_more_is_armed():
    rounds = _rounds(BUDDIES)
    assert [a.round for a, _, _ in rounds] == [1, 2, 3, 4, 5, 6]
    first = first_alert_time()
    for i, (alert, t, _) in enumerate(rounds):
        assert t.last_alert_at == first + i * 10 * M
        assert t.first_alert_at == first
        assert alert.fields["alert_at"] == first
        assert alert.fields["round"] == alert.round
    for _, t, _ in rounds[:-1]:
        assert (t.next_stage, t.next_at) == (ALERT, t.last_alert_at + 10 * M)
    last = rounds[-1][1]
    assert (last.status, last.next_stage, last.next_at) == (ALERTING, None, None)


def test_after_the_last_round_a_late_alert_job_does_nothing():
    last = _rounds(BUDDIES)[-1][1]
    for version in (last.version, last.version - 1):
        assert session.tick(last, version, ALERT, last.last_alert_at + 10 * M, BUDDIES, TIMING) == (last, [])


@pytest.mark.parametrize("max_rounds", [1, 2, 3, 6])
def test_the_last_round_reaches_every_organizer_with_the_last_alert_wording(max_rounds):
    """Whatever SMSLINE_MAX_ROUNDS is, organizers get a last alert: last_to names them and they are among `to`.

    The round is delivered to `to` only (jobs.deliver_round); last_to only picks the wording.
    """
    timing = Timing(seconds_per_minute=M, max_rounds=max_rounds)
    rounds = _rounds(BUDDIES, timing)
    assert len(rounds) == max_rounds
    alert, t, _ = rounds[-1]
    assert alert.last_to == (O1, O2)
    assert set(alert.last_to) <= set(alert.to)
    assert set(alert.last_to) <= set(t.alerted)
    assert t.next_stage is None


@pytest.mark.parametrize(
    "people, key",
    [(BUDDIES, "member_alerted"), (NO_BUDDY, "member_alerted_org"), (ORG_MEMBER, "member_alerted_org")],
)
def test_the_member_is_told_once_when_the_first_round_goes_out(people, key):
    rounds = _rounds(people)
    assert of(rounds[0][2], Tell) == [Tell((MEMBER,), key)]
    for _, _, effects in rounds[1:]:
        assert not of(effects, Tell)


def test_a_covert_alarm_does_not_tell_the_member_that_alerts_went_out():
    t = started()
    t, _ = fire(t)
    t, _ = fire(t)
    t = Timer.from_dict({**t.to_dict(), "covert": True})
    t, effects = fire(t)
    assert only(effects, Alert).to == (B1, B2)
    assert not of(effects, Tell)


# ---------------------------------------------------------------- stale and early jobs


def _armed():
    return started(60)  # armed: REMIND at T0 + 50 min


@pytest.mark.parametrize(
    "why, version_delta, stage, now_delta",
    [
        ("older version", -1, REMIND, 0),
        ("newer version", +1, REMIND, 0),
        ("wrong stage", 0, TIMEUP, 0),
        ("wrong stage: alert", 0, ALERT, 0),
        ("wrong stage: ackcheck", 0, ACKCHECK, 0),
        ("a second before it is due", 0, REMIND, -1),
        ("a line-minute before it is due", 0, REMIND, -M),
    ],
)
def test_a_tick_that_is_stale_misdirected_or_early_does_nothing(why, version_delta, stage, now_delta):
    t = _armed()
    assert session.tick(t, t.version + version_delta, stage, t.next_at + now_delta, BUDDIES, TIMING) == (t, [])


def test_a_tick_exactly_at_its_due_time_acts():
    t = _armed()
    new, effects = session.tick(t, t.version, REMIND, t.next_at, BUDDIES, TIMING)
    assert new.next_stage == TIMEUP and effects


def test_a_tick_long_overdue_acts_once_and_its_duplicate_does_nothing():
    """A job that was due while workers were down fires when they are back; its duplicate finds its version stale."""
    t = started(60)
    t, _ = fire(t)
    t, _ = fire(t)
    late = t.next_at + 3 * 3600
    new, effects = session.tick(t, t.version, ALERT, late, BUDDIES, TIMING)
    assert only(effects, Alert).round == 1
    assert new.first_alert_at == late
    assert session.tick(new, t.version, ALERT, late, BUDDIES, TIMING) == (new, [])


@pytest.mark.parametrize("stage", [REMIND, TIMEUP, ALERT, ACKCHECK])
def test_a_tick_for_an_ended_or_missing_timer_does_nothing(stage):
    ended, _ = session.ok(started(), T0 + M)
    assert session.tick(ended, ended.version, stage, T0 + 10_000 * M, BUDDIES, TIMING) == (ended, [])
    assert session.tick(None, 1, stage, T0, BUDDIES, TIMING) == (None, [])


# ---------------------------------------------------------------- versions


def _ack_ready():
    return alerting(rounds=1)


TRANSITIONS = [
    ("start over running", lambda: started(), lambda t: session.start(t, T0 + M, T0 + 30 * M, "", BUDDIES, TIMING)),
    ("start over alerting", _ack_ready, lambda t: session.start(t, T0 + 70 * M, T0 + 99 * M, "", BUDDIES, TIMING)),
    ("start over ended", lambda: session.ok(started(), T0 + M)[0],
     lambda t: session.start(t, T0 + 2 * M, T0 + 30 * M, "", BUDDIES, TIMING)),
    ("remind", lambda: started(), fire),
    ("timeup", lambda: fire(started())[0], fire),
    ("alert", lambda: fire(fire(started())[0])[0], fire),
    ("repeat", _ack_ready, fire),
    ("ok running", lambda: started(), lambda t: session.ok(t, T0 + M)),
    ("ok alerting", _ack_ready, lambda t: session.ok(t, T0 + 70 * M)),
    ("extend", lambda: started(), lambda t: session.extend(t, T0 + M, 30, TIMING)),
    ("sos running", lambda: started(), lambda t: session.sos(t, T0 + M, "", BUDDIES, TIMING)),
    ("sos alerting", _ack_ready, lambda t: session.sos(t, T0 + 70 * M, "", BUDDIES, TIMING)),
    ("sos ended", lambda: session.ok(started(), T0 + M)[0], lambda t: session.sos(t, T0 + 2 * M, "", BUDDIES, TIMING)),
    ("ack", _ack_ready, lambda t: session.ack(t, B1, T0 + 66 * M, BUDDIES, TIMING)),
    ("ackcheck", lambda: session.ack(_ack_ready(), B1, T0 + 66 * M, BUDDIES, TIMING)[0], fire),
]


@pytest.mark.parametrize("name, setup, event", TRANSITIONS, ids=[x[0] for x in TRANSITIONS])
def test_every_transition_bumps_the_version(name, setup, event):
    before = setup()
    after, _ = event(before)
    assert after != before
    assert after.version > before.version


REFUSALS = [
    ("extend too late", _ack_ready, lambda t: session.extend(t, T0 + 70 * M, 30, TIMING)),
    ("extend too long", lambda: started(), lambda t: session.extend(t, T0 + M, 1440, TIMING)),
    ("ack from a stranger", _ack_ready, lambda t: session.ack(t, "someone", T0 + 66 * M, BUDDIES, TIMING)),
    ("second ack", lambda: session.ack(_ack_ready(), B1, T0 + 66 * M, BUDDIES, TIMING)[0],
     lambda t: session.ack(t, B2, T0 + 67 * M, BUDDIES, TIMING)),
]


@pytest.mark.parametrize("name, setup, event", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_an_event_that_is_refused_or_ignored_leaves_the_timer_exactly_as_it_was(name, setup, event):
    before = setup()
    after, _ = event(before)
    assert after == before


# ---------------------------------------------------------------- OK


@pytest.mark.parametrize("stage", ["running", "reminded", "overdue"])
def test_ok_before_alerts_ends_the_timer_without_a_stand_down(stage):
    t = started()
    for _ in range(["running", "reminded", "overdue"].index(stage)):
        t, _ = fire(t)
    now = T0 + 62 * M
    new, effects = session.ok(t, now)
    assert effects == [Reply("ok_ended")]
    assert (new.status, new.ended_at, new.next_at, new.next_stage) == (ENDED, now, None, None)
    assert not new.live


@pytest.mark.parametrize("rounds", [1, 3, 6])
def test_ok_after_alerts_stands_everyone_down_naming_the_first_alert_time(rounds):
    t = alerting(rounds=rounds)
    now = t.last_alert_at + 4 * M
    new, effects = session.ok(t, now)
    assert effects == [StandDown(alert_at=first_alert_time()), Reply("ok_after_alert")]
    assert (new.status, new.ended_at, new.next_stage) == (ENDED, now, None)


def test_ok_after_an_ack_still_stands_everyone_down():
    t, _ = session.ack(alerting(rounds=2), B2, T0 + 80 * M, BUDDIES, TIMING)
    new, effects = session.ok(t, T0 + 85 * M)
    assert only(effects, StandDown).alert_at == first_alert_time()
    assert new.status == ENDED


@pytest.mark.parametrize("prev", [None, "ended"])
def test_ok_without_a_running_timer_says_so_and_changes_nothing(prev):
    t = session.ok(started(), T0 + M)[0] if prev else None
    assert session.ok(t, T0 + 2 * M) == (t, [Reply("ok_no_timer")])


# ---------------------------------------------------------------- EXTEND


@pytest.mark.parametrize(
    "advance, now_min, minutes, ends_min, stage, due_min",
    [
        # running, plenty of room: reminder re-armed 10 min before the new end
        (0, 5, 30, 90, REMIND, 80),
        # after the reminder went out: a reminder again, since there is room before the new end
        (1, 55, 30, 90, REMIND, 80),
        # after the reminder, a short extension leaves no room for one: straight to time-up
        (1, 55, 5, 65, TIMEUP, 65),
        # overdue (time up, alerts not yet out): the new end counts from now, not from the old end
        (2, 63, 30, 93, REMIND, 83),
        (2, 63, 8, 71, TIMEUP, 71),
    ],
)
def test_extend_before_alerts_moves_the_end_and_re_arms(advance, now_min, minutes, ends_min, stage, due_min):
    t = started(60)
    for _ in range(advance):
        t, _ = fire(t)
    now = T0 + now_min * M
    new, effects = session.extend(t, now, minutes, TIMING)
    assert effects == [Reply("extend_ok", {"end_at": T0 + ends_min * M})]
    assert (new.status, new.ends_at, new.next_stage, new.next_at) == (RUNNING, T0 + ends_min * M, stage, T0 + due_min * M)
    assert new.started_at == T0
    assert new.version > t.version
    assert session.tick(new, t.version, t.next_stage, t.next_at, BUDDIES, TIMING) == (new, [])


@pytest.mark.parametrize("rounds", [1, 6])
def test_extend_while_alerting_is_refused_and_changes_nothing(rounds):
    t = alerting(rounds=rounds)
    assert session.extend(t, t.last_alert_at + M, 30, TIMING) == (t, [Reply("extend_too_late")])


@pytest.mark.parametrize(
    "timer_min, now_min, minutes, allowed",
    [
        (60, 0, 1380, True),     # ends exactly 24 h from now
        (60, 0, 1381, False),    # one minute beyond 24 h
        (60, 30, 1410, True),    # 24 h from now, counting time already passed
        (1440, 0, 1, False),
        (60, 0, 100_000, False),
    ],
)
def test_extend_beyond_24_hours_from_now_is_refused_and_keeps_the_old_end(timer_min, now_min, minutes, allowed):
    t = started(timer_min)
    new, effects = session.extend(t, T0 + now_min * M, minutes, TIMING)
    if allowed:
        assert reply_keys(effects) == ["extend_ok"]
        assert new.ends_at - (T0 + now_min * M) <= 1440 * M
    else:
        assert (new, effects) == (t, [Reply("extend_too_long", {"end_at": t.ends_at})])


@pytest.mark.parametrize("prev", [None, "ended"])
def test_extend_without_a_running_timer_says_no_timer(prev):
    t = session.ok(started(), T0 + M)[0] if prev else None
    assert session.extend(t, T0 + 2 * M, 30, TIMING) == (t, [Reply("no_timer")])


# ---------------------------------------------------------------- SOS


@pytest.mark.parametrize(
    "people, to",
    [(BUDDIES, (B1, B2)), (NO_BUDDY, (O1, O2)), (ORG_MEMBER, (O1,))],
    ids=["buddies", "no-buddy", "member-is-org"],
)
@pytest.mark.parametrize("prev", [None, "ended"])
def test_sos_without_a_timer_alerts_at_once_as_an_sos(people, to, prev):
    before = session.ok(started(people=people), T0 + M)[0] if prev else None
    now = T0 + 30 * M
    t, effects = session.sos(before, now, "at the corner of 5th", people, TIMING)
    alert = only(effects, Alert)
    assert alert == Alert(round=1, to=to, key="sos",
                          fields={"started_at": now, "note": "at the corner of 5th", "round": 1, "alert_at": now})
    assert reply_keys(effects) == ["sos_ok"]
    assert not of(effects, Tell)  # the member hears sos_ok, not member_alerted
    assert (t.kind, t.status, t.round, t.first_alert_at, t.alerted) == ("sos", ALERTING, 1, now, to)
    assert (t.next_stage, t.next_at) == (ALERT, now + 10 * M)
    assert t.tid == (before.tid + 1 if before else 1)


def test_sos_repeats_like_any_alarm_and_adds_organizers_from_round_two():
    t, _ = session.sos(None, T0, "", BUDDIES, TIMING)
    t, effects = fire(t)
    alert = only(effects, Alert)
    assert (alert.round, alert.to, alert.key) == (2, (B1, B2, O1, O2), "alert_repeat")


def test_sos_with_nobody_to_alert_says_so():
    t, effects = session.sos(None, T0, "", NOBODY, TIMING)
    assert reply_keys(effects) == ["sos_nobody"]
    assert t.alerted == ()


@pytest.mark.parametrize("advance", [0, 1, 2], ids=["running", "reminded", "overdue"])
def test_sos_with_a_running_timer_alerts_now_and_keeps_the_timer_note(advance):
    t = started(60, note="Hotel Mirabel room 12")
    for _ in range(advance):
        t, _ = fire(t)
    now = T0 + 20 * M
    new, effects = session.sos(t, now, "", BUDDIES, TIMING)
    alert = only(effects, Alert)
    assert (alert.round, alert.to, alert.key) == (1, (B1, B2), "sos")
    assert alert.fields["note"] == "Hotel Mirabel room 12"
    assert alert.fields["started_at"] == T0
    assert (new.tid, new.kind, new.status, new.note, new.first_alert_at) == (t.tid, "timer", ALERTING, t.note, now)
    assert reply_keys(effects) == ["sos_ok"]
    # The old reminder / time-up job is now stale.
    assert session.tick(new, t.version, t.next_stage, t.next_at, BUDDIES, TIMING) == (new, [])


def test_sos_with_its_own_note_on_a_running_timer_still_shows_the_timer_note():
    """The START note (where, who, plate) is what buddies need; an SOS note adds to it, never replaces it."""
    t = started(60, note="Hotel Mirabel room 12, blue Honda ABC123")
    new, effects = session.sos(t, T0 + 20 * M, "locked in", BUDDIES, TIMING)
    note = only(effects, Alert).fields["note"]
    assert "Hotel Mirabel room 12, blue Honda ABC123" in note
    assert "locked in" in note
    assert "Hotel Mirabel room 12, blue Honda ABC123" in new.note


def test_sos_while_alerting_sends_a_new_round_and_reopens_acks():
    t, _ = session.ack(alerting(rounds=2), B1, T0 + 76 * M, BUDDIES, TIMING)
    new, effects = session.sos(t, T0 + 80 * M, "", BUDDIES, TIMING)
    alert = only(effects, Alert)
    assert (alert.round, alert.key, alert.fields["alert_at"]) == (3, "sos", first_alert_time())
    assert (new.acked_by, new.next_stage, new.next_at) == (None, ALERT, T0 + 90 * M)


# ---------------------------------------------------------------- ACK


def test_ack_from_an_alerted_buddy_stops_repeats_and_tells_the_member_and_the_others():
    t = alerting(rounds=2)  # B1, B2, O1, O2 alerted
    now = t.last_alert_at + 2 * M
    new, effects = session.ack(t, B2, now, BUDDIES, TIMING)
    assert effects == [
        Tell((MEMBER,), "ack_member", {"by": B2}),
        Tell((B1, O1, O2), "ack_others", {"by": B2}),
    ]
    assert (new.acked_by, new.acked_at, new.status) == (B2, now, ALERTING)
    assert (new.next_stage, new.next_at) == (ACKCHECK, now + 2 * 10 * M)
    assert new.version > t.version
    # The repeat the previous version armed is now stale: no more repeats.
    assert session.tick(new, t.version, ALERT, t.next_at, BUDDIES, TIMING) == (new, [])
    assert session.tick(new, new.version, ALERT, t.next_at, BUDDIES, TIMING) == (new, [])


def test_ack_from_the_only_one_alerted_tells_just_the_member():
    t = alerting(rounds=1, people=ORG_MEMBER)  # only O1 alerted
    _, effects = session.ack(t, O1, t.last_alert_at + M, ORG_MEMBER, TIMING)
    assert effects == [Tell((MEMBER,), "ack_member", {"by": O1})]


def test_ack_on_a_covert_alarm_does_not_tell_the_member():
    t = Timer.from_dict({**alerting(rounds=1).to_dict(), "covert": True})
    _, effects = session.ack(t, B1, t.last_alert_at + M, BUDDIES, TIMING)
    assert effects == [Tell((B2,), "ack_others", {"by": B1})]


@pytest.mark.parametrize(
    "why, setup, by",
    [
        ("not alerted: organizer before round 2", lambda: alerting(rounds=1), O1),
        ("not alerted: stranger", lambda: alerting(rounds=1), "someone"),
        ("not alerted: the member", lambda: alerting(rounds=1), MEMBER),
        ("not alerting yet: running", lambda: started(), B1),
        ("not alerting yet: overdue", lambda: fire(fire(started())[0])[0], B1),
        ("ended", lambda: session.ok(alerting(rounds=2), T0 + 80 * M)[0], B1),
        ("no timer", lambda: None, B1),
        ("second ack", lambda: session.ack(alerting(rounds=1), B1, T0 + 66 * M, BUDDIES, TIMING)[0], B2),
        ("second ack by the same person", lambda: session.ack(alerting(rounds=1), B1, T0 + 66 * M, BUDDIES, TIMING)[0], B1),
    ],
)
def test_ack_only_counts_from_someone_alerted_while_alerting_and_only_once(why, setup, by):
    t = setup()
    assert session.ack(t, by, T0 + 90 * M, BUDDIES, TIMING) == (t, [])


def test_ackcheck_alerts_the_organizers_again_two_repeat_periods_after_an_ack():
    t = alerting(rounds=1)
    acked_at = t.last_alert_at + 3 * M
    t, _ = session.ack(t, B1, acked_at, BUDDIES, TIMING)
    assert session.tick(t, t.version, ACKCHECK, acked_at + 20 * M - 1, BUDDIES, TIMING) == (t, [])
    new, effects = session.tick(t, t.version, ACKCHECK, acked_at + 20 * M, BUDDIES, TIMING)
    alert = only(effects, Alert)
    assert (alert.to, alert.key) == ((O1, O2), "ack_stale")
    assert alert.fields["alert_at"] == first_alert_time()
    assert alert.round not in range(1, TIMING.max_rounds + 1)  # its own delivery slot, not a repeat's
    assert (new.status, new.next_stage, new.next_at) == (ALERTING, None, None)
    assert new.version > t.version


def test_ackcheck_never_alerts_the_member_and_is_silent_with_no_other_organizer():
    t = alerting(rounds=1, people=ORG_MEMBER_BUDDY)
    t, _ = session.ack(t, B1, t.last_alert_at + M, ORG_MEMBER_BUDDY, TIMING)
    _, effects = fire(t, ORG_MEMBER_BUDDY)
    assert only(effects, Alert).to == (O1,)
    lonely = People(MEMBER, buddies=(B1,), organizers=(MEMBER,))
    t = alerting(rounds=1, people=lonely)
    t, _ = session.ack(t, B1, t.last_alert_at + M, lonely, TIMING)
    new, effects = fire(t, lonely)
    assert effects == []
    assert new.next_stage is None


def test_organizers_reached_by_the_ackcheck_alert_are_recorded_as_alerted():
    """Everyone an alert reached is in `alerted`: the service clears their alarm index from that list when the timer ends."""
    t = alerting(rounds=1)  # only buddies so far
    t, _ = session.ack(t, B1, t.last_alert_at + M, BUDDIES, TIMING)
    new, effects = fire(t)
    alert = only(effects, Alert)
    assert set(alert.to) <= set(new.alerted)


# ---------------------------------------------------------------- storage


ROUND_TRIP = [
    ("running", lambda: started()),
    ("alerting", lambda: alerting(rounds=3)),
    ("acked", lambda: session.ack(alerting(rounds=2), O1, T0 + 80 * M, BUDDIES, TIMING)[0]),
    ("ended", lambda: session.ok(alerting(rounds=1), T0 + 70 * M)[0]),
    ("sos", lambda: session.sos(None, T0, "“quoted” 🙂 note", BUDDIES, TIMING)[0]),
    ("covert", lambda: Timer(1, 3, ALERTING, T0, T0, covert=True, alerted=(B1,))),
]


@pytest.mark.parametrize("name, make", ROUND_TRIP, ids=[x[0] for x in ROUND_TRIP])
def test_to_dict_from_dict_round_trips_through_json(name, make):
    t = make()
    assert Timer.from_dict(t.to_dict()) == t
    assert Timer.from_dict(json.loads(json.dumps(t.to_dict()))) == t


def test_from_dict_ignores_fields_it_does_not_know_and_defaults_missing_ones():
    t = Timer.from_dict({"tid": 2, "version": 5, "status": RUNNING, "started_at": T0, "ends_at": T0 + M,
                         "from_a_newer_version": 1})
    assert t == Timer(tid=2, version=5, status=RUNNING, started_at=T0, ends_at=T0 + M)
    assert t.alerted == ()
