"""Steps decided ahead of their second (the due job starts early): applied at their time, only if nothing changed.

The due job of second S starts up to two seconds early, decides every step of
that second and renders the alerts, then applies each step at its due time with
a compare-and-set. These tests run that path in-process: `time.sleep` moves the
World's clock, and `during_wait` lets a text arrive between deciding and applying.
"""
from __future__ import annotations

import math

import pytest

from smsline import batch, jobs
from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER
from tests.helpers import enroll_by_texts


class Clock:
    """Stands in for time.sleep inside the due job: moves the World's clock; runs `during_wait` once."""

    def __init__(self, world, monkeypatch, during_wait=None):
        self.w, self.during_wait, self.slept = world, during_wait, []
        self.applied_at: list[float] = []
        monkeypatch.setattr(jobs.time, "sleep", self.sleep)
        commit = batch.commit

        def watched(line, plans):
            self.applied_at += [(self.w.now, p.due) for p in plans]
            return commit(line, plans)

        monkeypatch.setattr(batch, "commit", watched)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.during_wait is not None:
            hook, self.during_wait = self.during_wait, None
            hook()
        self.w.now += seconds


def _step_early(w, lead: float = 1.5) -> int:
    """Bring the clock to `lead` seconds before the next due step and run that second's job, as RQ would."""
    due = w.line.store.armed(float("inf"), limit=1)[0][1]
    w.now = due - lead
    n = jobs.step_second(int(math.floor(due)))
    jobs.wait_deliveries()
    w.run_jobs()  # the general worker's share, and the notices
    return n


def _to_alert(w) -> None:
    """Start a 5-minute timer and run every step before the buddy alert (reminder, time up)."""
    w.reply(MEMBER, "START 5")
    w.advance(5.01)
    w.take(MEMBER)


def test_alert_decided_ahead_is_sent_once_at_its_time_with_the_usual_text(network, make_world, monkeypatch):
    w = network
    _to_alert(w)
    clock = Clock(w, monkeypatch)
    assert _step_early(w) == 1
    alert = w.take(BUDDY)
    assert len(alert) == 1 and "Rose" in alert[0] and "ACK" in alert[0]
    assert clock.applied_at and all(now >= due for now, due in clock.applied_at)  # never before its time
    assert any("alerted" in t for t in w.take(MEMBER))
    assert w.timer(MEMBER).status == "alerting"
    # The same lapse through the ordinary path renders the very same alert.
    other = make_world()
    enroll_by_texts(other.text, ORGANIZER, MEMBER, "Rose", BUDDY)
    other.now = w.now - (w.now - other.now)  # both started from T0
    other.reply(MEMBER, "START 5")
    other.advance(10.1)
    ordinary = [t for t in other.take(BUDDY) if "Rose" in t and "ACK" in t]
    assert ordinary == alert


def _alert_with_a_text_in_between(w, monkeypatch, number: str, text: str) -> None:
    """Run the alert's second with `text` from `number` arriving after its step is decided, before it is applied."""
    _to_alert(w)
    Clock(w, monkeypatch, during_wait=lambda: w.text(number, text))
    _step_early(w)


def test_ok_between_deciding_and_applying_wins(network, monkeypatch):
    w = network
    _alert_with_a_text_in_between(w, monkeypatch, MEMBER, "OK")
    assert w.take(BUDDY) == []
    assert not w.timer(MEMBER).live
    w.advance(60)
    assert w.take(BUDDY) == []


def test_extend_between_deciding_and_applying_moves_the_alert(network, monkeypatch):
    w = network
    _alert_with_a_text_in_between(w, monkeypatch, MEMBER, "EXTEND 10")
    assert w.take(BUDDY) == []
    w.advance(16)  # the new end, ten minutes on, and its grace
    alerts = [t for t in w.take(BUDDY) if "Rose" in t]
    assert len(alerts) == 1 and "alert 2" not in alerts[0]


def test_a_buddy_who_opts_out_in_between_is_not_texted_and_organizers_are(network, monkeypatch):
    w = network
    _alert_with_a_text_in_between(w, monkeypatch, BUDDY, "STOP")
    assert w.take(BUDDY) == []
    assert any("checked in" in t for t in w.take(ORGANIZER))


def test_many_timers_in_one_second_each_alert_once_across_both_senders(make_world, monkeypatch):
    """More timers than a part: parts alternate between this worker and the general worker's send queue."""
    from smsline.handlers import inbound

    second_organizer = "+14159990001"
    w = make_world({"organizers": (ORGANIZER, second_organizer)})
    n = jobs.STEP_BATCH + 20  # two parts: one sent here, one by the general worker
    members = [f"+1415777{i:04d}" for i in range(n)]
    buddies = [f"+1415888{i:04d}" for i in range(n)]
    # Enrolled through handlers.inbound, the function /sms calls (as the benchmark does: fast).
    for i, (m, b) in enumerate(zip(members, buddies)):
        inbound.handle_inbound(w.line, ORGANIZER if i % 2 else second_organizer, f"ADD {m} M{i}")
        inbound.handle_inbound(w.line, m, "JOIN")
        inbound.handle_inbound(w.line, m, f"BUDDY {b} B{i}")
        inbound.handle_inbound(w.line, b, "YES")
        inbound.handle_inbound(w.line, m, "START 5")
    w.run_jobs()
    w.advance(5.01)
    w.transport.clear()
    Clock(w, monkeypatch)
    assert _step_early(w) == n
    got = [s.to for s in w.transport.sent if s.to in set(buddies)]
    assert sorted(got) == sorted(buddies)  # every buddy, once


def test_out_of_time_while_deciding_the_rest_are_stepped_at_their_time(network, monkeypatch):
    """Deciding ahead stops near the due time; whatever was not decided is stepped the ordinary way."""
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Ana")
    w.text(BUDDY2, "YES")
    _to_alert(w)
    w.take(BUDDY), w.take(BUDDY2)
    Clock(w, monkeypatch)
    decide = batch.decide

    def slow(line, pids, now, until=None):
        w.now += 5  # deciding took until past the due time
        return decide(line, pids, now, until)

    monkeypatch.setattr(batch, "decide", slow)
    _step_early(w)
    assert len(w.take(BUDDY)) == 1 and len(w.take(BUDDY2)) == 1


@pytest.mark.parametrize("lead", [0.01, 1.0, 1.99])
def test_never_applied_before_its_time_whatever_the_lead(network, monkeypatch, lead):
    w = network
    _to_alert(w)
    clock = Clock(w, monkeypatch)
    _step_early(w, lead=lead)
    assert len(w.take(BUDDY)) == 1
    assert all(now >= due for now, due in clock.applied_at)


def test_the_due_job_returns_at_once_and_its_second_is_stepped_in_the_background(network):
    """The job hands its second to a thread: the worker is free for an SOS round while the second waits."""
    import time

    w = network
    _to_alert(w)
    due = w.line.store.armed(float("inf"), limit=1)[0][1]
    w.now = due - 1.5
    began = time.monotonic()
    jobs.run_due(int(math.floor(due)))
    assert time.monotonic() - began < 0.5  # it did not wait for the due time
    assert w.line.redis.exists(f"sl:stepping:{int(math.floor(due))}")  # the sweep leaves it alone
    w.now = due  # the clock reaches the due time; the thread applies the step
    jobs.wait_deliveries(timeout=10)
    w.run_jobs()
    assert len([t for t in w.take(BUDDY) if "Rose" in t]) == 1
    assert not w.line.redis.exists(f"sl:stepping:{int(math.floor(due))}")
