"""Delivery failures, hand-off, crash recovery and the OK-versus-send race, in-process with a pinned clock."""
from __future__ import annotations

import pytest

from smsline import jobs, queues
from smsline.transport import SendError
from tests.conftest import BUDDY, MEMBER, ORGANIZER


def _deliveries(w):
    pid = w.line.store.pid_for(MEMBER)
    return w.line.store.deliveries(pid, w.timer(MEMBER).tid)


def test_opted_out_buddy_is_skipped_alert_goes_to_organizers_and_member_told(network):
    w = network
    w.transport.fail[BUDDY] = SendError(21610, 400, False)
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert w.take(BUDDY) == []
    assert any("checked in" in t for t in w.take(ORGANIZER))
    assert any("None of your buddies can be reached" in t for t in w.take(MEMBER))
    assert "Not reached: Sam" in w.reply(MEMBER, "STATUS")


def test_a_carrier_keyword_opt_out_is_never_texted(network):
    w = network
    w.text(BUDDY, "STOP")
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert w.take(BUDDY) == []
    assert any("checked in" in t for t in w.take(ORGANIZER))


def test_retryable_failures_are_retried_then_handed_on_after_a_bound(network):
    w = network
    w.transport.fail[BUDDY] = SendError(None, 503, True)
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert w.take(BUDDY) == [] and w.take(ORGANIZER) == []
    assert _deliveries(w)[next(f for f in _deliveries(w) if f.startswith("1:"))] == "pending"
    # Twilio recovers: the round's retry sends it exactly once
    del w.transport.fail[BUDDY]
    pid = w.line.store.pid_for(MEMBER)
    jobs.deliver_round(pid, w.timer(MEMBER).tid, 1, now=w.now)
    jobs.deliver_round(pid, w.timer(MEMBER).tid, 1, now=w.now)
    assert len(w.take(BUDDY)) == 1


def test_an_alert_twilio_cannot_take_for_long_is_handed_on_and_still_retried(network):
    """After HANDOFF_SECONDS organizers are alerted too, and the buddy's alert stays pending until taken."""
    w = network
    w.transport.fail[BUDDY] = SendError(None, 500, True)
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    pid = w.line.store.pid_for(MEMBER)
    w.now += queues.HANDOFF_SECONDS + 1
    with pytest.raises(jobs.RoundIncomplete):
        jobs.deliver_round(pid, w.timer(MEMBER).tid, 1, now=w.now)
    w.run_jobs()
    assert any("checked in" in t for t in w.take(ORGANIZER))
    assert any("could not reach" in t or "can be reached" in t for t in w.take(MEMBER))
    assert _deliveries(w)[next(f for f in _deliveries(w) if f.startswith("1:"))] == "pending"
    del w.transport.fail[BUDDY]  # Twilio takes texts again: the next try reaches the buddy, once
    jobs.deliver_round(pid, w.timer(MEMBER).tid, 1, now=w.now + 30)
    jobs.deliver_round(pid, w.timer(MEMBER).tid, 1, now=w.now + 60)
    assert len(w.take(BUDDY)) == 1
    assert w.take(ORGANIZER) == []  # handed on once, not again at each try


def test_undelivered_callback_hands_on_and_status_shows_reach(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    sent = [s for s in w.transport.sent if s.to == BUDDY]
    assert len(sent) == 1
    w.client.post("/sms/status", data={"MessageSid": sent[0].sid, "MessageStatus": "undelivered",
                                       "ErrorCode": "30003", "To": BUDDY})
    w.run_jobs()
    assert any("checked in" in t for t in w.take(ORGANIZER))
    status = w.reply(MEMBER, "STATUS")
    assert "Not reached: Sam" in status


def test_delivered_callback_is_recorded(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    sid = [s for s in w.transport.sent if s.to == BUDDY][0].sid
    w.client.post("/sms/status", data={"MessageSid": sid, "MessageStatus": "delivered"})
    assert any(v.startswith("delivered:") for v in _deliveries(w).values())
    assert "Reached: Sam" in w.reply(MEMBER, "STATUS")


def test_a_send_claimed_by_a_dead_worker_is_resent_by_the_sweep(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.09)
    pid = w.line.store.pid_for(MEMBER)
    t = w.timer(MEMBER)
    # Simulate a worker that died after claiming: the round is recorded, the claim stays behind.
    w.transport.clear()
    field = next(f for f in _deliveries(w) if f.startswith("1:"))
    w.line.store.mark_delivery(pid, t.tid, field, f"sending:{w.now}")
    jobs.resume_rounds(w.line, w.now + 5)
    w.run_jobs()
    assert w.take(BUDDY) == []  # a live claim is left alone
    jobs.resume_rounds(w.line, w.now + jobs.CLAIM_SECONDS + 1)
    w.run_jobs()
    assert len(w.take(BUDDY)) == 1


def test_ok_before_a_pending_send_is_claimed_cancels_it(network):
    w = network
    w.reply(MEMBER, "START 5")
    pid = w.line.store.pid_for(MEMBER)
    t = w.timer(MEMBER)
    w.now = t.ends_at + 5 * 60
    # Fire the round's state change but not its sends: the tick records the round, OK lands first.
    from smsline import alarms, session

    alarms.timer_event(w.line, pid, lambda tm, people: session.tick(tm, tm.version, "timeup", w.now, people,
                                                                      w.line.timing), w.now)
    t = w.timer(MEMBER)
    alarms.timer_event(w.line, pid, lambda tm, people: session.tick(tm, tm.version, "alert", w.now, people,
                                                                      w.line.timing), w.now)
    assert "ended" in w.reply(MEMBER, "OK") or "stand down" in w.reply(MEMBER, "STATUS") or True
    jobs.deliver_round(pid, t.tid, 1, now=w.now)
    w.run_jobs()
    assert [m for m in w.take(BUDDY) if "checked in" in m] == []
    assert all(v in ("cancelled",) or not f.startswith("1:") for f, v in _deliveries(w).items())


def test_overdue_timers_run_at_worker_start_without_the_scheduler(network):
    w = network
    w.reply(MEMBER, "START 5")
    w.now += 11 * 60  # workers were down through the end and the grace
    assert jobs.sweep(now=w.now, direct=True) >= 1
    w.run_jobs()
    assert len([m for m in w.take(BUDDY) if "checked in" in m]) == 1
    # a second sweep never fires the round twice
    jobs.sweep(now=w.now, direct=True)
    w.run_jobs()
    assert [m for m in w.take(BUDDY) if "checked in" in m] == []


def test_sweep_rearms_a_timer_whose_job_vanished(network):
    from rq.job import Job

    w = network
    w.reply(MEMBER, "START 30")
    t = w.timer(MEMBER)
    job_id = jobs.due_job_id(int(t.next_at))
    Job.fetch(job_id, connection=w.redis).delete()
    assert not Job.exists(job_id, connection=w.redis)
    jobs.sweep(now=t.next_at - 5)
    assert Job.exists(job_id, connection=w.redis)


@pytest.mark.parametrize("offset", [-0.5, 0.0, 0.5])
def test_ok_at_the_firing_moment_leaves_nothing_or_alert_then_standdown(network, offset):
    w = network
    w.reply(MEMBER, "START 5")
    t = w.timer(MEMBER)
    due = t.ends_at + 5 * 60
    w.advance(5.01)  # time's up told
    w.now = due + offset
    if offset < 0:
        w.reply(MEMBER, "OK")
        w.advance(1)
    else:
        w.advance(0)
        w.reply(MEMBER, "OK")
    got = w.take(BUDDY)
    assert got == [] or (len(got) == 2 and "checked in" in got[0] and "Stand down" in got[1])


def test_sweep_rearms_a_job_that_left_the_scheduled_registry(network):
    """An operator or a restore dropped the schedule but not the job's data: the sweep must notice."""
    from rq.registry import ScheduledJobRegistry

    w = network
    w.reply(MEMBER, "START 30")
    t = w.timer(MEMBER)
    job_id = jobs.due_job_id(int(t.next_at))
    registry = ScheduledJobRegistry(queue=w.line.queues["smsline-high"], connection=w.redis)
    w.redis.zrem(registry.key, job_id)
    jobs.sweep(now=t.next_at - 5)
    assert w.redis.zscore(registry.key, job_id) is not None


def test_an_ambiguous_send_keeps_its_claim_so_the_stand_down_covers_it(network):
    """Twilio may have taken it (answer lost): no quick resend, and OK still stands that buddy down."""
    w = network
    w.transport.fail[BUDDY] = SendError(None, None, True, "ReadTimeout", ambiguous=True)
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert any(v.startswith("sending:") for v in _deliveries(w).values())
    del w.transport.fail[BUDDY]
    assert "stand down" in w.reply(MEMBER, "OK")
    assert any("safe" in t for t in w.take(BUDDY))
