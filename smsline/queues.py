"""What goes on the queues: the job ids, the retry policy, and the entry points by name.

Jobs are named by their dotted path (RQ imports them in the worker), so the layers
that queue work need not import smsline.jobs, which sits above them all.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

from rq import Retry

from .line import HIGH
from .store import DAY

# The RQ entry points in smsline.jobs that lower layers queue.
RUN_DUE = "smsline.jobs.run_due"
DELIVER_ROUND = "smsline.jobs.deliver_round"
SEND_TEXTS = "smsline.jobs.send_texts"

HANDOFF_SECONDS = 60  # an alert no gateway can take for this long is handed on to organizers too (and retried)
ARM_EARLY = 2  # seconds before its second that a due job starts, to decide its steps ahead


def send_retry() -> Retry:
    """Back-off for texts no gateway accepted (5xx, 429, timeouts), capped at 30 s between tries.

    After the last, the sweep resumes an alert round still pending every 30 s, until the timer ends."""
    return Retry(max=8, interval=[1, 2, 4, 8, 15, 30, 30, 30])


def round_job_id(pid: str, tid: int, rnd: int) -> str:
    return f"round-{pid}-{tid}-{rnd}"


def due_job_id(second: int) -> str:
    return f"due-{second}"


def schedule_due(line, at: float, pipe=None) -> None:
    """Arm the job for the second `at` falls in; one job per second.

    RQ schedules whole seconds and its scheduler polls once a second, so a job set
    for second S starts anywhere in S..S+1. It is set two seconds early instead,
    decides its timers' steps meanwhile, and applies each at its time: on time,
    and never before.
    """
    second = int(math.floor(at))
    line.queues[HIGH].enqueue_at(
        datetime.fromtimestamp(second - ARM_EARLY, timezone.utc), RUN_DUE, second, job_id=due_job_id(second),
        pipeline=pipe,
        result_ttl=0, failure_ttl=DAY, description="due timers")


def queue_round(line, pid: str, tid: int, rnd: int, job_id: str, pipe=None) -> None:
    """Queue the job that sends one alert round (inside the caller's transaction when given one)."""
    line.queues[HIGH].enqueue_call(
        DELIVER_ROUND, args=(pid, tid, rnd), pipeline=pipe, job_id=job_id, description="alert round",
        result_ttl=0, failure_ttl=DAY, retry=send_retry())
