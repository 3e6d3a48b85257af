"""One long-lived alert sender per worker process: SMSLINE_SEND_CONCURRENCY requests in flight, all the time.

Due steps, `deliver_rounds` jobs and SOS rounds push their rounds here as they
happen (`push`); one thread keeps the transport busy with them:

- it claims a recipient only when there is room in flight, with the claim script
  on the deliveries hash, so claims always come before sends. A worker that dies
  leaves what it had not claimed pending (the sweep sends it) and what it had
  claimed but not recorded `sending:` (sent again when the claim lapses);
- room is counted account-wide: each claim takes a lease in a Redis sorted set
  (leases.py: `Keys.inflight`, tokens scored by when they lapse) in the same Lua
  script, so two worker processes on one Redis never have more than
  SMSLINE_SEND_CONCURRENCY requests in flight between them. A process that dies
  holds its leases until they lapse (LEASE_SECONDS), never longer;
- it records each answer as it comes back, in one pipeline per loop turn for all
  the answers that arrived together: sent:SID and its sid_ref, retry -> pending
  again, ambiguous -> the claim stays, refused for good -> failed and handed on to
  the organizers. After HANDOFF_SECONDS of tries an alert is handed on as well
  (once per recipient and round, Keys.handed). A status callback that beat the
  record of its send is applied then.

`push` returns a Batch: `wait()` gives what became of each recipient
(recipient -> sent, retry, unknown or failed), for jobs that must report it.
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import deque
from typing import Any

from .alarms import escalate, on_status
from .batch import alert_body, alerts_going_out
from .phones import mask
from .queues import HANDOFF_SECONDS
from .rendering import Directory
from .leases import LEASES, LEASE_SECONDS, POLL_SECONDS, claim_lease
from .store import DAY, Keys, failed_as, recipient_of, sent_as
from .transport import ALERT, OPTED_OUT, SendError

log = logging.getLogger(__name__)

WAVE_SECONDS = 30  # notices wait for a sender that died mid-wave this long at most
IDLE_EXIT = 10  # the sender's thread ends after this long with nothing to do (push starts it again)


class Batch:
    """The alerts one push handed to the sender; done when each is recorded (or found not pending)."""

    def __init__(self, count: int):
        self.left = count
        self.outcome: dict = {}
        self.done = threading.Event()
        if count == 0:
            self.done.set()

    def wait(self, timeout: float | None = None) -> dict:
        self.done.wait(timeout)
        return self.outcome

    def _finish_one(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.done.set()


class Item:
    """One recipient of one round, waiting for room in flight, then for its answer."""

    __slots__ = ("rkey", "field", "spec", "now", "ready", "batch", "number", "lease")

    def __init__(self, rkey, field, spec, now, ready, batch):
        self.rkey, self.field, self.spec, self.now, self.ready, self.batch = rkey, field, spec, now, ready, batch
        self.number, self.lease = None, None


class Sender:
    def __init__(self, line):
        self.line = line
        self.limit = max(1, line.settings.send_concurrency)  # the account's bound, shared through the leases
        self.local = self.limit  # this process may use all of it when the others use none
        self._cond = threading.Condition()
        self._work: deque = deque()
        self._answers: deque = deque()
        self.in_flight = 0
        self.token = "snd-" + secrets.token_hex(6)
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._wave_until = 0.0
        self.most_in_flight = 0

    # Feeding ------------------------------------------------------------------------------------------

    def push(self, rounds: list, now: float, ready: list = ()) -> Batch:
        """Queue every pending recipient of these (recorded) rounds; `ready`: alerts rendered ahead."""
        r, store = self.line.redis, self.line.store
        rounds = [tuple(x) for x in rounds]
        with r.pipeline(transaction=False) as pipe:
            for pid, tid, _ in rounds:
                pipe.hgetall(Keys.deliveries.format(pid=pid, tid=tid))
            records = [{k.decode(): v.decode() for k, v in rec.items()} for rec in pipe.execute()] if rounds else []
        rendered = {((p, t, rnd), f): (number, h, body) for p, t, rnd, f, number, h, body in ready}
        items = []
        for (pid, tid, rnd), rec in zip(rounds, records):
            spec_raw = rec.get(f"r{rnd}")
            if not spec_raw:
                continue
            spec = json.loads(store.sealer.open(spec_raw, "round"))
            prefix = f"{rnd}:"
            rkey = (pid, tid, rnd)
            items += [Item(rkey, f, spec, now, rendered.get((rkey, f)), None)
                      for f, v in rec.items() if f.startswith(prefix) and v == "pending"]
        batch = Batch(len(items))
        if not items:
            return batch
        for it in items:
            it.batch = batch
        with self._cond:
            self._mark_wave()  # notices that only tell the member wait from now
            self._work.extend(items)
            self._start()
            self._cond.notify()
        return batch

    def idle(self) -> bool:
        with self._cond:
            return not self._work and not self._answers and self.in_flight == 0

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._work or self._answers or self.in_flight or self._wave_until:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="alert-sender", daemon=True)
            self._thread.start()

    # The loop -----------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                idle_since = None
                while not self._answers and not (self._work and self.in_flight < self.local):
                    if not self._work and not self.in_flight:
                        self._wave_done()  # notices that only tell the member may go now
                        self._cond.notify_all()  # wait_idle
                        idle_since = idle_since or time.monotonic()
                        if time.monotonic() - idle_since > IDLE_EXIT:
                            self._wave_done()
                            self._thread = None  # push() starts another when there is work again
                            return
                    self._cond.wait(0.5 if idle_since else 1.0)
                answers = list(self._answers)
                self._answers.clear()
            try:
                if answers:
                    self._record(answers)
                blocked = self._launch()
            except Exception:
                # Redis trouble: what was claimed stays claimed (sent again when the claim lapses), the rest
                # stays pending for the sweep. Drop nothing silently from this process's view, though.
                log.exception("alert sender: a turn failed; trying again")
                blocked = True
            if blocked:
                with self._cond:
                    if not self._answers:
                        self._cond.wait(POLL_SECONDS)

    def _launch(self) -> bool:
        """Claim and send as many waiting recipients as there is room for. True if leases ran out."""
        line, store, r = self.line, self.line.store, self.line.redis
        with self._cond:
            room = self.local - self.in_flight
            take = [self._work.popleft() for _ in range(min(room, len(self._work)))]
        if not take:
            return False
        now = line.now()
        with r.pipeline(transaction=False) as pipe:
            args = [repr(now), self.limit, repr(now + LEASE_SECONDS)]
            for it in take:
                self._seq += 1
                it.lease = f"{self.token}:{self._seq}"
                args += [it.field, it.lease]
            claim_lease(r)(keys=[LEASES] + [Keys.deliveries.format(pid=it.rkey[0], tid=it.rkey[1]) for it in take],
                            args=args, client=pipe)
            for it in take:
                if it.ready:
                    pipe.sismember(Keys.optout, it.ready[1])  # rendered ahead: has the number opted out since?
            self._wave_pipe(pipe)
            try:
                out = pipe.execute()
            except Exception:
                for it in take:  # pending or claimed in Redis as it was: the sweep or the claim lapse has them
                    it.batch._finish_one()
                raise
        claims, flags = out[0], iter(out[1:])
        stopped = {id(it) for it in take if it.ready and next(flags)}
        claimed, back, gone = [], [], []
        for it, got in zip(take, claims):
            (claimed if got == 1 else back if got == -1 else gone).append(it)
        if back:
            with self._cond:
                self._work.extendleft(reversed(back))
        self._finish(gone)
        need = [it for it in claimed if it.ready is None or id(it) in stopped]
        d = Directory(store)
        if need:
            d.prefetch(pids=[recipient_of(it.field) for it in need] + [it.rkey[0] for it in need])
        work, failed_marks = [], []
        for it in claimed:
            pid, tid, _ = it.rkey
            rid = recipient_of(it.field)
            if it.ready is not None and id(it) not in stopped:
                it.number, body = it.ready[0], it.ready[2]
                work.append((it, body))
                continue
            person = d.person(rid)
            number = person.get("number")
            if not number or d.opted_out(number):
                failed_marks.append(it)
                continue
            spec = it.spec
            it.number = number
            body = alert_body(line, pid, rid, person.get("lang", "en"), spec["key"], spec.get("last_to", ()),
                              spec["fields"], it.now, d)
            work.append((it, body))
        callback = line.status_callback()
        with self._cond:
            self.in_flight += len(work)
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if failed_marks:
            self._refused(failed_marks, failed_as(OPTED_OUT))
        for it, body in work:
            try:
                future = line.transport.submit_many([(it.number, body)], status_callback=callback, kind=ALERT)
            except Exception as e:  # a transport that cannot even start: not sent, so it may go back
                self._answer(it, [SendError(None, None, True, type(e).__name__)])
                continue
            future.add_done_callback(lambda f, it=it: self._answer(it, _result(f)))
        return bool(back)

    def _finish(self, items: list) -> None:
        """These alerts are done with; once nothing is waiting or in flight, notices may go (before anyone
        waiting for a batch hears it is done)."""
        if not items:
            return
        with self._cond:
            idle = not self._work and not self.in_flight and not self._answers
        if idle:
            self._wave_done()
        for it in items:
            it.batch._finish_one()

    def _answer(self, it: Item, results: list) -> None:
        with self._cond:
            self._answers.append((it, results[0]))
            self._cond.notify_all()

    def _refused(self, items: list, value: str) -> None:
        """Claimed, and found opted out or without a number: failed, handed on; their leases back."""
        r = self.line.redis
        with r.pipeline(transaction=False) as pipe:
            for it in items:
                pipe.hset(Keys.deliveries.format(pid=it.rkey[0], tid=it.rkey[1]), it.field, value)
                pipe.zrem(LEASES, it.lease)
            pipe.execute()
        by_round: dict = {}
        for it in items:
            by_round.setdefault((it.rkey, it.now), []).append(recipient_of(it.field))
            it.batch.outcome[recipient_of(it.field)] = "failed"
        for ((pid, tid, rnd), now), rids in by_round.items():
            escalate(self.line, pid, tid, rnd, rids, now)
        self._finish(items)

    def _record(self, answers: list) -> None:
        """Record every answer that came back since the last turn, in one pipeline."""
        try:
            self._record_answers(answers)
        finally:
            # Recorded or not (Redis trouble), these requests are over: what was not recorded keeps its
            # claim, and is sent again when the claim lapses.
            with self._cond:
                self.in_flight -= len(answers)
            self._finish([it for it, _ in answers])

    def _record_answers(self, answers: list) -> None:
        line, r, store = self.line, self.line.redis, self.line.store
        failed, slow, sids = {}, {}, []
        with r.pipeline(transaction=False) as pipe:
            for it, res in answers:
                pid, tid, _ = it.rkey
                rid = recipient_of(it.field)
                dkey = Keys.deliveries.format(pid=pid, tid=tid)
                pipe.zrem(LEASES, it.lease)
                if isinstance(res, str):
                    pipe.hset(dkey, it.field, sent_as(res))
                    ref = {"kind": "alert", "pid": pid, "tid": tid, "field": it.field}
                    pipe.set(Keys.sid_ref.format(sid=res), json.dumps(ref), ex=2 * DAY)
                    it.batch.outcome[rid] = "sent"
                    sids.append(res)
                    continue
                log.warning("alert to %s not accepted: %s", mask(it.number or ""), res)
                if res.ambiguous:
                    # Twilio may have taken it and the answer was lost: the claim stays, so a stand-down
                    # covers this person and the sweep sends once more when the claim lapses.
                    it.batch.outcome[rid] = "unknown"
                elif res.retryable:
                    # Not taken yet: pending again, tried until taken or the timer ends; after
                    # HANDOFF_SECONDS the organizers are alerted as well, not instead.
                    store._release(keys=[dkey], args=[it.field, ""], client=pipe)
                    it.batch.outcome[rid] = "retry"
                    if it.now - it.spec.get("at", it.now) > HANDOFF_SECONDS:
                        slow.setdefault((it.rkey, it.now), []).append(rid)
                else:
                    pipe.hset(dkey, it.field, failed_as(res.code or "timeout"))
                    failed.setdefault((it.rkey, it.now), []).append(rid)
                    it.batch.outcome[rid] = "failed"
            if sids:  # a status callback can beat the record of its send (the webhook keeps it)
                pipe.mget([Keys.status.format(sid=x) for x in sids])
            out = pipe.execute()
        early = out[-1] if sids else []
        if slow:
            self._hand_on_slow(slow)
        if failed:

            for ((pid, tid, rnd), now), rids in failed.items():
                escalate(line, pid, tid, rnd, rids, now)
        if any(early):

            for sid, raw in zip(sids, early):
                if raw:
                    rec = json.loads(raw)
                    on_status(line, sid, rec.get("status", ""), rec.get("error", ""), line.now())

    def _hand_on_slow(self, slow: dict) -> None:
        """Handed on once per recipient and round, however many tries follow."""

        r = self.line.redis
        with r.pipeline(transaction=False) as pipe:
            for ((pid, tid, rnd), _), rids in slow.items():
                key = Keys.handed.format(pid=pid, tid=tid, rnd=rnd)
                for rid in rids:
                    pipe.sadd(key, rid)
                pipe.expire(key, 2 * DAY)
            added = iter(pipe.execute())
        for ((pid, tid, rnd), now), rids in slow.items():
            new = [rid for rid in rids if next(added)]
            next(added)  # the expiry
            if new:
                escalate(self.line, pid, tid, rnd, new, now)

    # Notices wait while alerts go out (Keys.wave) -------------------------------------------------------

    def _wave_pipe(self, pipe) -> None:

        now = self.line.now()
        if now + WAVE_SECONDS / 2 > self._wave_until:
            self._wave_until = now + WAVE_SECONDS
            alerts_going_out(self.line, pipe, self.token, self._wave_until)

    def _mark_wave(self) -> None:

        with self.line.redis.pipeline(transaction=False) as pipe:
            self._wave_until = self.line.now() + WAVE_SECONDS
            alerts_going_out(self.line, pipe, self.token, self._wave_until)
            pipe.execute()

    def _wave_done(self) -> None:
        if self._wave_until:
            try:
                self.line.redis.zrem(Keys.wave, self.token)
                self._wave_until = 0.0
            except Exception:
                log.warning("could not clear the wave mark; it lapses by itself")


def _result(future) -> Any:

    try:
        return future.result()
    except Exception as e:  # pragma: no cover - transports turn failures into results
        return [SendError(None, None, True, type(e).__name__, ambiguous=True)]


_senders: dict = {}
_senders_lock = threading.Lock()


def sender_for(line) -> Sender:
    """This process's sender for this line (one per line: tests build many lines in one process)."""
    with _senders_lock:
        s = _senders.get(id(line))
        if s is None or s.line is not line:
            s = _senders[id(line)] = Sender(line)
        return s


def all_senders() -> list[Sender]:
    with _senders_lock:
        return list(_senders.values())


