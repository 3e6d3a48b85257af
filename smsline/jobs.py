"""RQ job functions: due timers (in batches), alert rounds, texts, and the sweep that re-arms timers.

Timers due in the same second share one scheduled job, `due-<second>`. It steps
its timers in batches (batch.decide reads and decides them together, batch.commit
writes each with a compare-and-set; only a timer that changed meanwhile is stepped
again under WATCH, in alarms.timer_event), then hands the alert rounds to the
senders, at most SMSLINE_SEND_CONCURRENCY requests at a time. Texts that only tell
the member wait in the outbox and go on the default queue, behind every alert.
"""
from __future__ import annotations

import json
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from . import session
from .alarms import timer_event
from .batch import alerts_going_out, alerts_in_progress
from .bootstrap import current
from .line import DEFAULT, HIGH, SEND
from .queues import ARM_EARLY, due_job_id, round_job_id, schedule_due, send_retry
from .store import DAY, Keys, recipient_of, round_of
from .sending import CLAIM_SECONDS, open_texts, send_once

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10
OVERDUE_SLACK = 5  # past due by more than this, the sweep runs a timer without the scheduler
DRAIN_CHUNK = 100
STEP_BATCH = 250  # timers stepped (or applied) at once, before their alerts are handed on


# Stepping timers ------------------------------------------------------------

def run_due(second: int, now: float | None = None, late: bool = False) -> None:
    """The scheduled job of one second: hand the second to a thread of this worker, and return.

    The second's work waits for its time; meanwhile this worker takes the next
    jobs (an SOS round from the web, the next seconds). A marker in Redis tells
    the sweep the second is in hand; if this process dies, its timers are
    overdue and the sweep steps them.
    """
    global _seconds
    line = current()
    marker = _marker(second, late)
    # First ask for another look, then try to take the second: a thread that holds it looks again after it
    # lets go (a timer moved into this second by EXTEND or a new START after that thread's last look).
    line.redis.set(_again(second, late), "1", ex=ARM_EARLY + STEPPING_SECONDS)
    if not line.redis.set(marker, "1", nx=True, ex=ARM_EARLY + STEPPING_SECONDS):
        log.info("a due second is in hand already; its thread looks again before it ends")
        return
    if _seconds is None:
        # Up to OVERLAP seconds step at once, so a long second does not hold the next one back. Each steps
        # its own timers (those due within it); the marker above (NX) keeps any second from being stepped by
        # two threads. A late job (the sweep's) steps everything overdue; a timer two threads both reach is
        # stepped once, by compare-and-set and versions.
        _seconds = ThreadPoolExecutor(max_workers=OVERLAP, thread_name_prefix="due")
    _track(_seconds.submit(_step_second_logged, line, second, late))


_seconds: ThreadPoolExecutor | None = None
OVERLAP = 4  # due seconds stepped at once, at most
STEPPING_SECONDS = 30  # the sweep leaves a second alone this long after its job handed it to a thread


def _marker(second: int, late: bool) -> str:
    return Keys.stepping.format(second=f"late-{second}" if late else second)


def _again(second: int, late: bool) -> str:
    return Keys.stepping.format(second=f"again-{'late-' if late else ''}{second}")


def _step_second_logged(line, second: int, late: bool = False) -> None:
    marker = _marker(second, late)
    while True:
        line.redis.delete(_again(second, late))
        try:
            step_second(second, late)
        except Exception:
            log.exception("stepping a second failed; the sweep will step its timers")
        finally:
            line.redis.delete(marker)
        # A job for this second that came while this thread held it asked for another look (see run_due):
        # look again, unless that job took the second itself once it was let go.
        if not line.redis.get(_again(second, late)):
            return
        if not line.redis.set(marker, "1", nx=True, ex=ARM_EARLY + STEPPING_SECONDS):
            return


def step_second(second: int, late: bool = False) -> int:
    """Step every timer of this second at its time (decided ahead when there is time), until the second is over.

    Nothing is done before its time.
    """
    line = current()
    stepped = 0
    since = None if late else second
    first = _own(line, second, since)
    if first and first[0][1] > line.now():
        stepped += _step_prepared(line, second)
    while True:
        now = line.now()
        n = step_due(line, now, wait=False, since=since)
        stepped += n
        upcoming = _own(line, second, since)
        if not upcoming:
            return stepped
        wait = upcoming[0][1] - line.now()
        if wait > 0:
            time.sleep(min(wait, 1.0))
        elif n == 0:
            return stepped  # due but not steppable now (it failed and was logged): the sweep retries it


_pending: set = set()


def _deliver_later(line, rounds, now, ready=()) -> None:
    """Hand rounds to this process's sender and return: the next due timers are stepped meanwhile.

    The rounds are already recorded: if this process dies mid-send, the sweep sends what is left.
    """
    from .sender import sender_for

    sender_for(line).push(rounds, now, ready)


def _track(future) -> None:
    _pending.add(future)
    future.add_done_callback(_pending.discard)


def wait_deliveries(timeout: float = 30.0) -> None:
    """Before the process stops: let seconds in hand and rounds handed to Twilio finish (SIGTERM is warm)."""
    from concurrent.futures import wait

    from .sender import all_senders

    deadline = time.monotonic() + timeout
    while _pending and time.monotonic() < deadline:  # a second in hand may hand on rounds meanwhile
        wait(list(_pending), timeout=deadline - time.monotonic())
    for sender in all_senders():
        sender.wait_idle(max(0.0, deadline - time.monotonic()))


def _step_prepared(line, second: int) -> int:
    """Before the second's timers fall due: decide their steps now, apply each at its time.

    Reading the timers, their buddies and everyone's records, and rendering the
    notices, is most of a step's work; done ahead, only the compare-and-set writes
    and the sends are left for the due moment. A timer that changes in between (an
    OK, an EXTEND) fails its compare-and-set and is stepped again the careful way.
    """
    from .batch import decide

    # This second's timers only: an earlier second's belong to its own thread (seconds overlap), and anything
    # overdue is stepped the careful way below.
    pids = [pid for pid, at in line.store.armed(second + 1, limit=MAX_PREPARED) if at > line.now() and at >= second]
    plans: list = []
    for i in range(0, len(pids), STEP_BATCH):  # soonest first, for as long as there is time
        if plans and line.now() >= plans[0].due - PREPARE_MARGIN:
            break  # the rest are stepped at their time
        plans += decide(line, pids[i:i + STEP_BATCH], line.now(), until=second + 1)
    plans.sort(key=lambda p: p.due)
    if not plans:
        return 0
    token = f"due-{second}"
    if any(p.rounds for p in plans):  # notices wait from now until these alerts are with their senders
        with line.redis.pipeline(transaction=False) as pipe:
            alerts_going_out(line, pipe, token, plans[-1].due + 1.0)
            pipe.execute()
    try:
        return _apply(line, plans)
    finally:
        # The senders mark their own sending; the general worker takes their share before any notice.
        line.redis.zrem(Keys.wave, token)


def _apply(line, plans) -> int:
    """Apply decided steps at their due times, all that are due in one pipeline, and hand their rounds on."""
    from .batch import commit

    stepped, i = 0, 0
    while i < len(plans):
        wait = plans[i].due - line.now()
        if wait > 0:
            time.sleep(min(wait, 2.0))
            continue
        now = line.now()
        j = i
        while j < len(plans) and plans[j].due <= now and j - i < APPLY_BATCH:
            j += 1
        began, due = time.monotonic(), plans[i:j]
        # Half to the general worker first (sending is CPU work, and it has its own CPU), then half here;
        # a few are sent here alone, as handing over would cost more than it saves.
        halves = [(due[:len(due) // 2], 1), (due[len(due) // 2:], 0)] if len(due) >= SPLIT else [(due, 0)]
        counts = [_hand_on(line, commit(line, half), now, sender, wait=False) for half, sender in halves]
        rounds_n, careful_n, texts = (sum(c[k] for c in counts) for k in range(3))
        if texts:
            queue_drain(line, now)
        log.info("stepped %d timers decided ahead in %.3f s (%d again under WATCH), %.3f s after their time; "
                 "%d rounds", j - i, time.monotonic() - began, careful_n, now - plans[i].due, rounds_n)
        stepped, i = stepped + (j - i), j
    return stepped


APPLY_BATCH = 2000  # decided steps applied in one pipeline (two, when split between the senders)
SPLIT = 50  # from this many steps due together, the general worker sends half of their rounds


MAX_PREPARED = 20000  # timers of one second decided ahead; beyond that, the rest are stepped at their time
PREPARE_MARGIN = 0.05  # stop deciding ahead this close to the first due time


def _hand_on(line, applied, now: float, part: int, wait: bool) -> tuple[int, int, int]:
    """After a commit: step under WATCH the timers that changed meanwhile, and hand the rounds to a sender.

    Returns (rounds, timers stepped again, notices queued)."""
    rounds, careful, texts, ready = applied
    for pid in careful:
        rounds += _step(line, pid, now)
    _dispatch(line, rounds, now, part, wait, ready)
    return len(rounds), len(careful), texts


def _dispatch(line, rounds, now: float, part: int, wait: bool, ready: list = ()) -> None:
    """Hand a part's alert rounds to a sender: here (in the background unless `wait`) or the general worker."""
    if rounds and wait:
        deliver(line, rounds, now, ready)
    elif rounds and part % 2:
        # Every other part goes to the general worker: sending is CPU work, and it has its own CPU. The
        # alerts rendered ahead wait sealed in Redis for it; the job itself carries ids only.
        token = _stash_ready(line, ready) if ready else ""
        line.queues[SEND].enqueue_call(deliver_rounds, args=(rounds, now, token), result_ttl=0, failure_ttl=DAY,
                                       description="alert rounds")
    elif rounds:
        _deliver_later(line, rounds, now, ready)


def _own(line, second: int, since: float | None) -> list[tuple[str, float]]:
    """The first timer still armed for this second (from `since`: seconds overlap, and each steps its own)."""
    if since is None:
        return line.store.armed(second + 1, limit=1)
    return line.store.armed(f"({second + 1}", limit=1, since=since)


def step_due(line, now: float, limit: int = 5000, wait: bool = True, since: float | None = None) -> int:
    """Step every timer due by `now` and send the alert rounds that causes. Returns timers stepped.

    Timers are stepped STEP_BATCH at a time, and each part's rounds are handed to the
    sender at once (in the background unless `wait`), so the first alerts are on their
    way while later timers are still being stepped.
    """
    from .batch import commit, decide

    if since is None:
        due = line.store.overdue(now, limit=limit)
    else:  # one second's own timers only: an earlier second's are its own thread's, or the sweep's
        due = line.store.armed(now, limit=limit, since=since)
    if not due:
        return 0
    began = time.monotonic()
    pids = [pid for pid, _ in due]
    counts = [_hand_on(line, commit(line, decide(line, pids[i:i + STEP_BATCH], now)), now, i // STEP_BATCH, wait)
              for i in range(0, len(pids), STEP_BATCH)]
    total_rounds, total_careful, texts = (sum(c[k] for c in counts) for k in range(3))
    if texts:
        queue_drain(line, now)
    log.info("stepped %d timers in %.3f s (%d again under WATCH), the first %.3f s after its time; %d rounds",
             len(due), time.monotonic() - began, total_careful, now - due[0][1], total_rounds)
    return len(due)


def queue_drain(line, now: float) -> None:
    """Have the outbox sent, behind every alert (default queue); one job per second."""
    line.queues[DEFAULT].enqueue_call(drain, job_id=f"drain-{int(now)}", result_ttl=0, failure_ttl=DAY,
                                      description="send notices")


def drain() -> None:
    """Send what timer steps put in the outbox; anything Twilio could not take yet is retried."""
    from .batch import drain_outbox

    line = current()
    if alerts_in_progress(line):
        # Alerts are being handed over: these notices only tell the member, so they go after.
        line.queues[DEFAULT].enqueue_in(timedelta(seconds=1), drain, result_ttl=0, failure_ttl=DAY,
                                        description="send notices")
        return
    # Small chunks, each a short job, so a worker is never held long by notices.
    left = drain_outbox(line, limit=DRAIN_CHUNK)
    if line.redis.hlen(Keys.outbox) > left:
        line.queues[DEFAULT].enqueue_call(drain, result_ttl=0, failure_ttl=DAY, description="send notices")
    if left:
        raise RoundIncomplete("some notices were not accepted yet")


def _step(line, pid: str, now: float) -> list[tuple[str, int, int]]:
    """One timer's due step; a failure is logged and left for the sweep, never blocking the others."""
    try:
        return _step_one(line, pid, now)
    except Exception:
        log.exception("a timer step failed; the sweep will retry it")
        return []


def _step_one(line, pid: str, now: float) -> list[tuple[str, int, int]]:
    t = line.store.timer(pid)
    if t is None or not t.live or t.next_at is None:
        line.redis.zrem(Keys.due, pid)
        return []
    if t.next_at > now:
        return []
    at = max(now, t.next_at)
    _, alerts = timer_event(
        line, pid, lambda tm, people: session.tick(tm, t.version, t.next_stage, at, people, line.timing), at,
        in_worker=True)
    return [(pid, tid, rnd) for tid, rnd in alerts]


# Sending alert rounds ---------------------------------------------------------

class RoundIncomplete(RuntimeError):
    """Some texts were not accepted yet; raising makes RQ retry with back-off."""


READY_SECONDS = 300  # alerts rendered ahead wait this long for the other worker; after that they are rendered again


def _stash_ready(line, ready: list) -> str:
    import secrets

    token = secrets.token_hex(8)
    sealed = line.store.sealer.seal(json.dumps([list(x) for x in ready]), "ready")
    line.redis.set(Keys.ready.format(token=token), sealed, ex=READY_SECONDS)
    return token


def deliver_rounds(rounds: list, now: float, ready: str | list = "") -> dict:
    """Rounds the alarms worker handed over (recorded already: if this job is lost, the sweep sends them).

    `ready` names the alerts rendered ahead; if they are gone (lapsed, or WIPE), the rounds are rendered here.
    """
    line = current()
    rendered = [tuple(x) for x in ready] if isinstance(ready, list) else []  # a job queued before sealing
    if ready and isinstance(ready, str):
        key = Keys.ready.format(token=ready)
        raw = line.redis.getdel(key)
        if raw:
            rendered = [tuple(x) for x in json.loads(line.store.sealer.open(raw, "ready"))]
    return deliver(line, [tuple(r) for r in rounds], now, rendered)


def deliver_round(pid: str, tid: int, rnd: int, now: float | None = None) -> dict:
    """The job for one round (SOS and duress from the web, and the sweep's resumptions)."""
    line = current()
    outcome = deliver(line, [(pid, tid, rnd)], line.now() if now is None else now)
    if "retry" in outcome.values():
        raise RoundIncomplete("some alerts were not accepted yet")
    return outcome


DELIVER_WAIT = 120  # a job waits this long at most for its rounds' answers (Twilio's timeout is 10 s)


def deliver(line, rounds: list[tuple[str, int, int]], now: float, ready: list = ()) -> dict:
    """Send alert rounds through this process's sender and wait for every answer (see sender.py).

    Returns recipient -> sent, retry, unknown or failed."""
    from .sender import sender_for

    return sender_for(line).push(rounds, now, ready).wait(DELIVER_WAIT)


def send_texts(ids: list[str]) -> None:
    """Send notifications once each (a claim per message id survives job retries and crashes).

    The job holds message ids; the texts wait sealed in Redis until sent (or WIPE takes them).
    """
    line = current()
    legacy = [t for t in ids if isinstance(t, dict)]  # a job queued before sealing, in flight across the upgrade
    ids = [i for i in ids if isinstance(i, str)]
    keys = [Keys.message.format(mid=i) for i in ids]
    stored = [{"id": i, "s": v} for i, v in zip(ids, line.redis.mget(keys) if keys else []) if v]
    texts, gone = open_texts(line, stored + legacy)
    out = send_once(line, texts)
    done = [Keys.message.format(mid=t["id"]) for t in out.finished + gone]
    if done:
        line.redis.delete(*done)
    if out.retry or out.busy:
        raise RoundIncomplete("some texts were not accepted yet")


# The sweep ------------------------------------------------------------------

def sweep(now: float | None = None, direct: bool = False) -> int:
    """Run overdue timers without waiting for the scheduler, and re-arm timers whose job is gone.

    Overdue means past due by more than the scheduler's normal latency: a dead
    scheduler's lock outlives it by about a minute, and Redis may have lost jobs.
    Versions make this safe to repeat: a duplicate step finds its version stale.
    """
    from rq.registry import ScheduledJobRegistry

    line = current()
    now = line.now() if now is None else now
    acted = 0
    late = line.store.overdue(now - OVERDUE_SLACK, limit=1)
    if late:
        if direct:
            acted += step_due(line, now)
        else:
            slot = int(now // SWEEP_SECONDS)
            line.queues[HIGH].enqueue_call(run_due, args=(int(now),), kwargs={"late": True}, job_id=f"due-late-{slot}",
                                           result_ttl=0, failure_ttl=DAY, description="due timers")
            acted += 1
    seconds = {int(math.floor(at)) for _, at in line.store.armed(now + 2 * SWEEP_SECONDS) if at > now - OVERDUE_SLACK}
    registry = ScheduledJobRegistry(queue=line.queues[HIGH], connection=line.redis)
    for second in seconds:
        job_id = due_job_id(second)
        # Armed means scheduled, or already moved to the queue or running; a job hash alone is not enough.
        scheduled = line.redis.zscore(registry.key, job_id) is not None
        in_hand = line.redis.exists(Keys.stepping.format(second=second))
        if not scheduled and not in_hand and _job_status(line, job_id) not in ("queued", "started"):
            schedule_due(line, second)
            acted += 1
    if line.redis.hlen(Keys.outbox):
        queue_drain(line, now)
    line.store.lapse_buddy_invites(now)  # pending buddy links past their week, even if nobody looks
    line.store.rewrite_aof_if_due()  # a WIPE's AOF rewrite that Redis refused or the rate limit held back
    return acted + resume_rounds(line, now)


def _job_status(line, job_id: str) -> str | None:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        return Job.fetch(job_id, connection=line.redis).get_status(refresh=False)
    except NoSuchJobError:
        return None


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
            if recipient_of(f) is None:  # the round's spec, the "ended" mark
                continue
            if v.startswith("sending:") and store.release_delivery(pid, t.tid, f, older_than=now - CLAIM_SECONDS):
                v = "pending"
            if v == "pending":
                rounds.add(round_of(f))
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
