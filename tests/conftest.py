"""Shared fixtures: a whole line in-process on fakeredis, a recording transport and a pinned clock."""
from __future__ import annotations

import itertools
import logging

import fakeredis
import pytest
from rq import SimpleWorker

from smsline import create_app, jobs
from smsline.store import Keys
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
        """Move the clock, running every timer step that falls due on the way, at its due time."""
        target = self.now + minutes * self.line.settings.seconds_per_minute
        while True:
            due = self.redis.zrangebyscore(Keys.due, "-inf", target, start=0, num=1, withscores=True)
            if not due:
                break
            self.now = max(self.now, due[0][1])
            # The worker's own path: every timer due by now, stepped in one batch.
            jobs.step_due(self.line, self.now)
            self.run_jobs()
        self.now = target
        self.run_jobs()

    def timer(self, number: str):
        return self.line.store.timer(self.line.store.pid_for(number))


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
