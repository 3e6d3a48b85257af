"""Alarm transactions: a timer event applied atomically with everything it causes, alert rounds
recorded, alerts that could not reach someone handed on, and status callbacks applied."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

from . import session
from .line import Line
from .notices import enqueue_texts
from .reachability import on_delivery
from .queues import queue_round, round_job_id, schedule_due
from .rendering import Directory, Outgoing, display_name, outgoing
from .session import Alert, People, Reply, StandDown, Tell
from .store import delivered_as, failed_as, recipient_of, round_of


def schedule_tick(line: Line, pipe, pid: str, t: session.Timer) -> None:
    """Arm the job for the second the timer's next step falls in; timers due together share it."""
    if not (t.live and t.next_at is not None):
        return
    schedule_due(line, t.next_at, pipe)


# Effects ------------------------------------------------------------------------

def tell_id(pid: str, t: session.Timer, key: str) -> str:
    """The id that makes a Tell's texts idempotent: the same step of the same timer sends them once."""
    return f"{pid}-{t.tid}-{t.version}-{key}"


@dataclass
class Writes:
    """What a step's effects write besides the timer itself."""

    rounds: list[tuple[Alert, list[list]]] = field(default_factory=list)  # each alert, with the commands recording it
    texts: list[Outgoing] = field(default_factory=list)  # Tells and stand-downs, rendered
    cancel: list[str] = field(default_factory=list)  # sends of an alarm stood down that are not claimed yet


def interpret(line: Line, pid: str, old: session.Timer | None, new: session.Timer, effects: list, now: float,
              deliveries: dict[str, str] | None = None, d: Directory | None = None) -> Writes:
    """Turn the state machine's effects into writes: the one interpreter of the WATCH path
    (timer_event) and the compare-and-set path (batch.decide). Replies are the caller's.

    `deliveries` (the old timer's) say who must hear a stand-down; `d` serves people read ahead.
    """
    w = Writes()
    for e in effects:
        if isinstance(e, Alert):
            w.rounds.append((e, round_commands(line.store, pid, new, e, now)))
        elif isinstance(e, Tell):
            uid = tell_id(pid, new, e.key)
            w.texts += [o for o in (outgoing(line, rid, e.key, e.fields, now, uid, member=pid, d=d) for rid in e.to)
                        if o]
        elif isinstance(e, StandDown):
            reached, w.cancel = _stand_down_split(deliveries or {})
            uid = f"{pid}-{old.tid}-sd"
            w.texts += [o for o in (outgoing(line, rid, "standdown", {"alert_at": e.alert_at}, now, uid, member=pid,
                                             d=d) for rid in reached) if o]
    return w


# Timer transactions ---------------------------------------------------------

def timer_event(line: Line, pid: str, event, now: float, in_worker: bool = False,
                member_only: bool = False) -> tuple[list[Reply], list]:
    """Apply a pure timer event atomically and queue everything it causes in the same transaction.

    Returns the replies for the sender and the alert rounds that were recorded. In a
    worker (in_worker), the caller sends the rounds itself, and texts that only tell
    the member wait on the default queue, behind every alert. With member_only (START),
    nothing happens unless `pid` is a member when the transaction commits.
    """
    store = line.store
    people = People(member=pid, buddies=store.confirmed_buddies(pid), organizers=store.organizers())
    result: dict = {}

    def txn(pipe, timer, deliveries):
        if member_only:
            # A REMOVE committed after this WATCH fails this transaction, which then finds no member;
            # one committed before it is seen here. Either way no non-member is left with a new timer.
            if not store.watch_member(pipe, pid):
                pipe.multi()
                result.update(replies=[Reply("stranger")], alerts=[], timer=timer)
                return
        new, effects = event(timer, people)
        w = interpret(line, pid, timer, new, effects, now, deliveries)
        pipe.multi()
        if new is not None and new is not timer:
            store.write_timer(pipe, pid, new, now)
            schedule_tick(line, pipe, pid, new)
        if deliveries and timer.live and not (new is not None and new.live and new.tid == timer.tid):
            store.end_deliveries(pipe, pid, timer.tid, now, w.cancel)
        if new is not None and not new.live:
            store.unalert(pipe, pid, new.alerted)
        if timer is not None and new is not None and timer.tid != new.tid:
            store.unalert(pipe, pid, timer.alerted)
        for a, commands in w.rounds:
            for cmd in commands:
                pipe.execute_command(*cmd)
            if not in_worker:  # a worker sends the round itself; if it dies first, the sweep finds it pending
                queue_round(line, pid, new.tid, a.round, round_job_id(pid, new.tid, a.round), pipe)
        enqueue_texts(line, w.texts, pipe)
        result["replies"] = [e for e in effects if isinstance(e, Reply)]
        result["alerts"] = [(new.tid, a.round) for a, _ in w.rounds]
        result["timer"] = new

    store.transact(pid, txn)
    return result["replies"], result["alerts"]


def _stand_down_split(deliveries: dict[str, str]) -> tuple[list[str], list[str]]:
    """Who must hear the stand-down (an alert reached or is reaching them) and which sends to cancel."""
    reached, cancel = [], []
    for f, status in deliveries.items():
        rid = recipient_of(f)
        if rid is None:
            continue
        if status == "pending":
            cancel.append(f)
        elif status.startswith(("sending", "sent", "delivered")):
            reached.append(rid)
    return list(dict.fromkeys(reached)), cancel


def round_commands(store, pid: str, t: session.Timer, a: Alert, now: float) -> list[list]:
    """The writes that record a round: its spec (sealed: it holds the note), one pending delivery per
    recipient, the alerted index."""
    spec = {"key": a.key, "fields": a.fields, "last_to": list(a.last_to), "at": now}
    return store.round_commands(pid, t.tid, a.round, store.sealer.seal(json.dumps(spec), "round"), a.to)


def escalate(line: Line, pid: str, tid: int, rnd: int, failed: list[str], now: float) -> None:
    """An alert could not reach some people: hand it on to the organizers, and tell the member."""
    store = line.store
    orgs = [o for o in store.organizers() if o != pid]
    buddies = set(store.confirmed_buddies(pid))

    def txn(pipe, timer, deliveries):
        if timer is None or timer.tid != tid or timer.status != session.ALERTING or "ended" in deliveries:
            pipe.multi()
            return
        in_round = {recipient_of(f) for f in deliveries if recipient_of(f) and round_of(f) == rnd}
        extra = [o for o in orgs if o not in in_round]
        unreachable = {recipient_of(f) for f, v in deliveries.items() if v.startswith("failed") and recipient_of(f)}
        unreachable |= set(failed)
        texts = []
        if not timer.covert:
            uid = f"und-{pid}-{tid}-{rnd}-" + hashlib.sha1(",".join(sorted(failed)).encode()).hexdigest()[:10]
            names = ", ".join(display_name(line, r, pid) for r in failed)
            if not orgs:  # nobody to hand it on to: say so rather than promise organizers
                o = outgoing(line, pid, "alert_undelivered_alone", {"names": names}, now, uid, member=pid)
            elif buddies and buddies <= unreachable:
                o = outgoing(line, pid, "no_buddy_reachable", {}, now, uid, member=pid)
            else:
                o = outgoing(line, pid, "alert_undelivered", {"names": names}, now, uid, member=pid)
            texts = [o] if o else []
        pipe.multi()
        if extra:
            store.add_recipients(pipe, pid, tid, rnd, extra)
            new = replace(timer, alerted=tuple(dict.fromkeys(timer.alerted + tuple(extra))))
            store.write_timer(pipe, pid, new, now)
            queue_round(line, pid, tid, rnd, f"{round_job_id(pid, tid, rnd)}-x{len(in_round)}", pipe)
        enqueue_texts(line, texts, pipe)

    store.transact(pid, txn)


def on_status(line: Line, sid: str, status: str, error: str, now: float, to: str | None = None) -> None:
    """A status callback: record who an alert reached; hand on alerts that did not arrive.

    With the recipient's number (to), any text's failure or delivery also tells whether they can be reached.
    """
    ref = line.store.sid_ref(sid)
    # The member of an alarm or TEST is told of this failure by that path; others by on_delivery.
    told = {(ref or {}).get("pid"), (ref or {}).get("member")} - {None}
    on_delivery(line, to, status, error, now, skip=told)
    if ref is None:
        return
    failed = status in ("undelivered", "failed")
    if ref.get("kind") == "alert":
        pid, tid, f = ref["pid"], ref["tid"], ref["field"]
        current = line.store.deliveries(pid, tid).get(f, "")
        if not current.startswith(("sent", "delivered")):
            return
        if failed and current.startswith("delivered"):
            return  # a delivered alert stays delivered: a late or replayed failure cannot undo it
        if failed:
            line.store.mark_delivery(pid, tid, f, failed_as(error or status))
            escalate(line, pid, tid, round_of(f), [recipient_of(f)], now)
        elif status == "delivered":
            line.store.mark_delivery(pid, tid, f, delivered_as(sid))
    elif ref.get("kind") == "test" and failed:
        member, rid = ref["member"], ref["rid"]
        o = outgoing(line, member, "test_undelivered", {"name": display_name(line, rid, member)}, now,
                     f"testfail-{sid}")
        if o:
            enqueue_texts(line, [o])


def reach(line: Line, pid: str, t: session.Timer) -> tuple[list[str], list[str]]:
    """Names an alarm reached, and names it could not reach."""
    reached, missed = {}, {}
    for f, v in line.store.deliveries(pid, t.tid).items():
        rid = recipient_of(f)
        if rid is None:
            continue
        if v.startswith("failed"):
            missed[rid] = True
        elif v.startswith(("sent", "delivered")):
            reached[rid] = True
    names = lambda ids: [display_name(line, r, pid) for r in ids]  # noqa: E731
    return names(r for r in reached if r not in missed), names(missed)

