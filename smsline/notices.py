"""Texts that are not alerts, queued for the worker: each waits sealed in Redis, the job carries its id."""
from __future__ import annotations

from .line import DEFAULT, Line
from .queues import SEND_TEXTS, send_retry
from .rendering import Outgoing
from .sending import seal_text
from .store import DAY


def enqueue_texts(line: Line, texts: list[Outgoing], pipe=None, queue: str = DEFAULT) -> None:
    """Queue texts for the worker, inside the caller's transaction when given one.

    The high queue carries only timer steps and alert rounds, so a burst of
    invitations or notices never holds an alarm back.
    """
    if not texts:
        return
    stored = [seal_text(line, t) for t in texts]
    target = pipe if pipe is not None else line.redis.pipeline(transaction=False)
    for s in stored:
        line.store.keep_message(target, s["id"], s["s"])
    if pipe is None:
        target.execute()
    # The job carries message ids only: a failed job kept by RQ holds no number and no text.
    line.queues[queue].enqueue_call(
        SEND_TEXTS, args=([s["id"] for s in stored],), pipeline=pipe, description="send texts",
        result_ttl=0, failure_ttl=DAY, retry=send_retry(),
    )
