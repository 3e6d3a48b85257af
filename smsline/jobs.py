"""RQ job functions: timer ticks, alert rounds, texts, and the sweep that re-arms timers."""
from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from rq import Retry

from . import messages, session
from .bootstrap import HIGH, current
from .phones import mask
from .session import People
from .store import DAY, Keys
from .transport import OPTED_OUT, SendError

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10
CLAIM_SECONDS = 30  # a claimed text whose worker died is sent again after this (Twilio timeout is 10 s)
HANDOFF_SECONDS = 60  # an alert Twilio cannot take for this long is handed on
OVERDUE_SLACK = 5


def send_retry() -> Retry:
    """Back-off for texts Twilio did not accept (5xx, 429, timeouts)."""
    return Retry(max=8, interval=[1, 2, 4, 8, 15, 30, 60, 120])


def tick_job_id(pid: str, version: int) -> str:
    return f"tick-{pid}-{version}"


def round_job_id(pid: str, tid: int, rnd: int) -> str:
    return f"round-{pid}-{tid}-{rnd}"


def _wait_until(line, due: float) -> float:
    """RQ schedules in whole seconds and may wake a job early: never act before due."""
    now = line.now()
    if now < due:
        time.sleep(due - now)
        now = line.now()
    return max(now, due) if now < due else now


def tick(pid: str, version: int, stage: str, due: float, now: float | None = None) -> None:
    """A timer's scheduled moment: remind, time's up, an alert round, or the check after an ACK."""
    from .service import timer_event

    line = current()
    now = _wait_until(line, due) if now is None else now
    _, alerts = timer_event(
        line, pid, lambda t, people: session.tick(t, version, stage, now, people, line.timing), now)
    # The round is also queued in the same transaction (with retries); sending it here saves a hop.
    for tid, rnd in alerts:
        try:
            deliver_round(pid, tid, rnd, now=now)
        except RoundIncomplete:
            log.warning("alert round not fully accepted; its queued job retries")


class RoundIncomplete(RuntimeError):
    """Some texts of a round were not accepted yet; raising makes RQ retry with back-off."""


def deliver_round(pid: str, tid: int, rnd: int, now: float | None = None) -> dict:
    """Send one alert round: each recipient still pending is claimed, then texted once.

    A text Twilio refuses for good (opted out, invalid) or cannot take within
    HANDOFF_SECONDS is handed on to the organizers, and the member is told.
    """
    from .service import escalate, text_fields

    line = current()
    store = line.store
    now = line.now() if now is None else now
    records = store.deliveries(pid, tid)
    spec_raw = records.get(f"r{rnd}")
    if not spec_raw:
        return {}
    spec = json.loads(spec_raw)
    prefix = f"{rnd}:"
    work, failed = [], []
    for f, v in records.items():
        if not (f.startswith(prefix) and v == "pending") or not store.claim_delivery(pid, tid, f, now):
            continue
        rid = f[len(prefix):]
        person = store.person(rid)
        number = person.get("number")
        if not number or store.opted_out(number):
            store.mark_delivery(pid, tid, f, f"failed:{OPTED_OUT}")
            failed.append(rid)
            continue
        lang = person.get("lang", "en")
        key = "alert_last" if rid in spec.get("last_to", ()) else spec["key"]
        body = messages.render(key, lang, **text_fields(line, lang, spec["fields"], now, member=pid))
        work.append((f, rid, number, body))
    results = _send_many(line, [(number, body) for _, _, number, body in work])
    retry = False
    outcome = {}
    too_late = now - spec.get("at", now) > HANDOFF_SECONDS
    for (f, rid, number, _), res in zip(work, results):
        if isinstance(res, str):
            store.mark_delivery(pid, tid, f, f"sent:{res}")
            ref = {"kind": "alert", "pid": pid, "tid": tid, "field": f}
            line.redis.set(Keys.sid_ref.format(sid=res), json.dumps(ref), ex=2 * DAY)
            outcome[rid] = "sent"
        elif res.retryable and not too_late:
            store.release_delivery(pid, tid, f)
            retry = True
            outcome[rid] = "retry"
        else:
            store.mark_delivery(pid, tid, f, f"failed:{res.code or 'timeout'}")
            failed.append(rid)
            outcome[rid] = "failed"
    if failed:
        escalate(line, pid, tid, rnd, failed, now)
    if retry:
        raise RoundIncomplete("some alerts were not accepted yet")
    return outcome


def _send_many(line, texts: list[tuple[str, str]]) -> list:
    """Hand texts to the transport concurrently, at most SMSLINE_SEND_CONCURRENCY in flight."""
    callback = line.status_callback()

    def one(item):
        number, body = item
        try:
            return line.transport.send(number, body, status_callback=callback)
        except SendError as e:
            log.warning("text to %s not accepted: %s", mask(number), e)
            return e

    if len(texts) <= 1:
        return [one(t) for t in texts]
    workers = min(line.settings.send_concurrency, len(texts))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, texts))


def send_texts(texts: list[dict]) -> None:
    """Send notifications once each: a claim per message id survives job retries."""
    line = current()
    r = line.redis
    todo = []
    for t in texts:
        key = Keys.sent.format(mid=t["id"])
        if line.store.opted_out(t["to"]):
            continue
        if r.set(key, "sending", nx=True, ex=CLAIM_SECONDS):
            todo.append((key, t))
    results = _send_many(line, [(t["to"], t["body"]) for _, t in todo])
    retry = False
    for (key, t), res in zip(todo, results):
        if isinstance(res, str):
            r.set(key, "sent", ex=2 * DAY)
            if t.get("ref"):
                r.set(Keys.sid_ref.format(sid=res), json.dumps(t["ref"]), ex=2 * DAY)
        elif res.retryable:
            r.delete(key)
            retry = True
        else:
            r.set(key, f"failed:{res.code}", ex=2 * DAY)
    if retry:
        raise RoundIncomplete("some texts were not accepted yet")


def sweep(now: float | None = None, direct: bool = False) -> int:
    """Re-arm timers whose job is missing, and run overdue ones without waiting for the scheduler.

    Overdue means past due by more than the scheduler's normal latency: a dead
    scheduler's lock outlives it by about a minute, and Redis may have lost jobs.
    Versions make this safe to repeat: a duplicate job finds its version stale.
    """
    from rq.job import Job

    line = current()
    now = line.now() if now is None else now
    acted = 0
    for pid, due in line.store.armed(now + 2 * SWEEP_SECONDS):
        t = line.store.timer(pid)
        if t is None or not t.live or t.next_at is None:
            line.redis.zrem(Keys.due, pid)
            continue
        job_id = tick_job_id(pid, t.version)
        args = (pid, t.version, t.next_stage, t.next_at)
        if t.next_at <= now - OVERDUE_SLACK:
            if direct:
                tick(*args, now=now)
            else:
                line.queues[HIGH].enqueue_call(tick, args=args, job_id=job_id, result_ttl=0, failure_ttl=DAY, description="tick")
            acted += 1
        elif not Job.exists(job_id, connection=line.redis):
            line.queues[HIGH].enqueue_at(datetime.fromtimestamp(t.next_at, timezone.utc), tick, *args,
                                         job_id=job_id, result_ttl=0, failure_ttl=DAY, description="tick")
            acted += 1
    return acted + resume_rounds(line, now)


def resume_rounds(line, now: float) -> int:
    """Alert rounds with texts still pending, or claimed by a worker that died: send them again.

    At most one such attempt per round every SWEEP_SECONDS * 3, on top of the round's own retries.
    """
    store, resumed = line.store, 0
    slot = int(now // (SWEEP_SECONDS * 3))
    for pid in store.alerting():
        t = store.timer(pid)
        if t is None or not t.live:
            line.redis.srem(Keys.alerting, pid)
            continue
        rounds = set()
        for f, v in store.deliveries(pid, t.tid).items():
            if ":" not in f or f.startswith("r"):
                continue
            if v.startswith("sending:") and store.release_delivery(pid, t.tid, f, older_than=now - CLAIM_SECONDS):
                v = "pending"
            if v == "pending":
                rounds.add(int(f.split(":", 1)[0]))
        for rnd in rounds:
            line.queues[HIGH].enqueue_call(deliver_round, args=(pid, t.tid, rnd), description="alert round",
                                           job_id=f"{round_job_id(pid, t.tid, rnd)}-s{slot}", result_ttl=0,
                                           failure_ttl=DAY, retry=send_retry())
            resumed += 1
    return resumed


def schedule_heartbeat(line=None) -> None:
    """Keep one heartbeat job scheduled: it runs through the scheduler, so its beat proves the scheduler works."""
    line = line or current()
    slot = int(time.time() // SWEEP_SECONDS) + 1
    line.queues[HIGH].enqueue_at(datetime.fromtimestamp(slot * SWEEP_SECONDS, timezone.utc), heartbeat,
                                 job_id=f"heartbeat-{slot}", result_ttl=0, failure_ttl=DAY, description="heartbeat")


def heartbeat() -> None:
    """The heartbeat: a job that only a worker with a live scheduler can run."""
    line = current()
    line.redis.set(Keys.heartbeat, str(line.now()), ex=DAY)
    schedule_heartbeat(line)
