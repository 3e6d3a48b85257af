"""Shared fixtures: a whole line in-process on fakeredis, a recording transport and a pinned clock."""
from __future__ import annotations

import itertools
import logging
import sys
import time

import fakeredis
import pytest
from rq import SimpleWorker
from rq.job import Job

from smsline import bootstrap, create_app, jobs
from smsline.transport import RecordingTransport
from tests.helpers import enroll_by_texts, twiml_texts

ORGANIZER = "+14155550001"
T0 = 1_800_000_000.0  # a fixed instant; every test controls the clock


class World:
    """The line in-process: text it as any phone, move the clock, run what falls due."""

    def __init__(self, settings: dict | None = None):
        self.now = T0
        self.redis = fakeredis.FakeRedis()
        self.transport = RecordingTransport()
        base = {"organizers": (ORGANIZER,), "seconds_per_minute": 60.0, "network_name": "Line"}
        base.update(settings or {})
        self.app = create_app(base, redis=self.redis, transport=self.transport, clock=lambda: self.now)
        self.line = self.app.extensions["smsline"]
        self.client = self.app.test_client()
        self._sids = itertools.count(1)

    # Inbound ---------------------------------------------------------------
    def post(self, number: str, body: str, sid: str | None = None):
        sid = sid or f"SM{next(self._sids):032d}"
        return self.client.post("/sms", data={"From": number, "Body": body, "MessageSid": sid})

    def text(self, number: str, body: str) -> list[str]:
        """Send a text; return the replies, then deliver whatever it queued."""
        resp = self.post(number, body)
        assert resp.status_code == 200, resp.data
        replies = twiml_texts(resp.data)
        self.run_jobs()
        return replies

    def reply(self, number: str, body: str) -> str:
        replies = self.text(number, body)
        assert len(replies) >= 1, f"no reply to {body!r}"
        return " | ".join(replies)

    # Outbound --------------------------------------------------------------
    def inbox(self, number: str) -> list[str]:
        return self.transport.to(number)

    def take(self, number: str) -> list[str]:
        """Texts sent to number since the last take."""
        got = self.inbox(number)
        self.transport.sent = [s for s in self.transport.sent if s.to != number]
        return got

    # Time and jobs ---------------------------------------------------------
    def run_jobs(self) -> None:
        SimpleWorker(list(self.line.queues.values()), connection=self.redis).work(burst=True, logging_level="WARNING")

    def advance(self, minutes: float) -> None:
        """Move the clock, running on the way each second's due job whose timers all fall due by the end.

        A second with a timer due after the end waits for the next advance, as its job would wait.
        """
        target = self.now + minutes * self.line.settings.seconds_per_minute
        while self._run_due_job(target):
            pass
        self.now = target
        self.run_jobs()

    def _run_due_job(self, target: float) -> bool:
        """Run the earliest second's due job the way production does, if all its timers fall due by `target`.

        RQ's scheduler moves the job `due-<second>` to the queue ARM_EARLY seconds before its second;
        the worker runs it (run_due), which hands the second to a thread of its own; that thread decides
        the steps ahead, sleeps until each is due, applies it and hands its rounds to the senders. Here
        the clock stands still unless that thread sleeps: its sleep moves the World's clock instead.
        """
        queue = self.line.queues[jobs.HIGH]
        scheduled = self.redis.zrange(queue.scheduled_job_registry.key, 0, -1, withscores=True)
        due = sorted((int(j.decode()[4:]), j.decode()) for j, _ in scheduled
                     if j.decode().startswith("due-") and j.decode()[4:].isdigit())
        if not due:
            return False
        second, job_id = due[0]
        armed = self.line.store.armed(second + 1)
        if (armed[-1][1] if armed else second - jobs.ARM_EARLY) > target:
            return False
        self.now = max(self.now, second - jobs.ARM_EARLY)
        queue.enqueue_job(Job.fetch(job_id, connection=self.redis))
        queue.scheduled_job_registry.remove(job_id)
        bootstrap._current = self.line  # the job finds its line as a worker's jobs do
        stepping = sys.modules[jobs.step_second.__module__]
        real_time, stepping.time = stepping.time, _Sleeper(self)
        try:
            # The alarms worker (the high queue alone) runs run_due, which hands the second to the stepping
            # thread and returns. What that thread queues for the general worker waits until it is done: a
            # notice drained while alerts are going out would put itself off to a scheduled retry.
            SimpleWorker([queue], connection=self.redis).work(burst=True, logging_level="WARNING")
            jobs.wait_deliveries(timeout=10)
            assert not jobs._pending, "a due job's thread is still running (asleep on a clock that stands still?)"
        finally:
            stepping.time = real_time
        self.run_jobs()  # the general worker's share of the rounds, and the notices
        return True

    def timer(self, number: str):
        return self.line.store.timer(self.line.store.pid_for(number))


class _Sleeper:
    """The `time` module for the stepping thread of a World: sleeping moves the World's clock."""

    def __init__(self, world: World):
        self._world = world

    def sleep(self, seconds: float) -> None:
        self._world.now += max(0.0, seconds)

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def world():
    logging.getLogger("rq").setLevel(logging.WARNING)
    return World()


@pytest.fixture
def make_world():
    logging.getLogger("rq").setLevel(logging.WARNING)
    return World


MEMBER, BUDDY, BUDDY2 = "+14155550102", "+14155550103", "+14155550104"


@pytest.fixture
def network(world):
    """An organizer, a member Rose with one confirmed buddy Sam."""
    enroll_by_texts(world.text, ORGANIZER, MEMBER, "Rose", BUDDY)
    for n in (ORGANIZER, MEMBER, BUDDY):
        world.take(n)
    return world
