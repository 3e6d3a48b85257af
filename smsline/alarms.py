"""Alarm transactions: a timer event applied atomically with everything it causes, alert rounds
recorded, alerts that could not reach someone handed on, and status callbacks applied."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from . import session
from .line import Line
from .notices import enqueue_texts
from .reachability import on_delivery
from .queues import queue_round, round_job_id, schedule_due
from .rendering import Outgoing, display_name, outgoing
from .session import Alert, People, Reply, StandDown, Tell
from .store import DAY, Keys


def schedule_tick(line: Line, pipe, pid: str, t: session.Timer) -> None:
    """Arm the job for the second the timer's next step falls in; timers due together share it."""
    if not (t.live and t.next_at is not None):
        return
    schedule_due(line, t.next_at, pipe)


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
            pipe.watch(Keys.members)
            if not pipe.sismember(Keys.members, pid):
                pipe.multi()
                result.update(replies=[Reply("stranger")], alerts=[], timer=timer)
                return
        new, effects = event(timer, people)
        texts: list[Outgoing] = []
        alerts = [e for e in effects if isinstance(e, Alert)]
        cancel: list[str] = []
        for e in effects:
            if isinstance(e, Tell):
                uid = f"{pid}-{new.tid}-{new.version}-{e.key}"
                for rid in e.to:
                    o = outgoing(line, rid, e.key, e.fields, now, uid, member=pid)
                    if o:
                        texts.append(o)
            elif isinstance(e, StandDown):
                reached, cancel = _stand_down_split(deliveries)
                uid = f"{pid}-{timer.tid}-sd"
                for rid in reached:
                    o = outgoing(line, rid, "standdown", {"alert_at": e.alert_at}, now, uid, member=pid)
                    if o:
                        texts.append(o)
        pipe.multi()
        if new is not None and new is not timer:
            store.write_timer(pipe, pid, new, now)
            schedule_tick(line, pipe, pid, new)
        if deliveries and timer.live and not (new is not None and new.live and new.tid == timer.tid):
            # The alarm is over: cancel sends not yet claimed, and refuse any later claim.
            dkey = Keys.deliveries.format(pid=pid, tid=timer.tid)
            pipe.hset(dkey, mapping={"ended": repr(now), **{f: "cancelled" for f in cancel}})
        if new is not None and not new.live:
            for rid in new.alerted:
                pipe.srem(Keys.alerted_for.format(pid=rid), pid)
        if timer is not None and new is not None and timer.tid != new.tid:
            for rid in timer.alerted:
                pipe.srem(Keys.alerted_for.format(pid=rid), pid)
        for a in alerts:
            record_round(line, pipe, pid, new, a, now, queue_job=not in_worker)
        enqueue_texts(line, texts, pipe)
        result["replies"] = [e for e in effects if isinstance(e, Reply)]
        result["alerts"] = [(new.tid, a.round) for a in alerts]
        result["timer"] = new

    store.transact(pid, txn)
    return result["replies"], result["alerts"]


def _stand_down_split(deliveries: dict[str, str]) -> tuple[list[str], list[str]]:
    """Who must hear the stand-down (an alert reached or is reaching them) and which sends to cancel."""
    reached, cancel = [], []
    for f, status in deliveries.items():
        if ":" not in f or f.startswith("r"):
            continue
        rid = f.split(":", 1)[1]
        if status == "pending":
            cancel.append(f)
        elif status.startswith(("sending", "sent", "delivered")):
            reached.append(rid)
    return list(dict.fromkeys(reached)), cancel


def record_round(line: Line, pipe, pid: str, t: session.Timer, a: Alert, now: float, queue_job: bool = True) -> None:
    """Record one round: the spec to render and one pending delivery per recipient, then queue its job.

    A worker sends the round itself (queue_job False); if it dies first, the sweep finds the round pending.
    """
    for cmd in round_commands(line.store, pid, t, a, now):
        pipe.execute_command(*cmd)
    if not queue_job:
        return
    queue_round(line, pid, t.tid, a.round, round_job_id(pid, t.tid, a.round), pipe)


def round_commands(store, pid: str, t: session.Timer, a: Alert, now: float) -> list[list]:
    """The writes that record a round: its spec (sealed: it holds the note), one pending delivery per
    recipient, the alerted index."""
    dkey = Keys.deliveries.format(pid=pid, tid=t.tid)
    spec = {"key": a.key, "fields": a.fields, "last_to": list(a.last_to), "at": now}
    hset = ["HSET", dkey, f"r{a.round}", store.sealer.seal(json.dumps(spec), "round")]
    for rid in a.to:
        hset += [f"{a.round}:{rid}", "pending"]
    # The alerted index expires with the deliveries: an alarm nobody ends must not leave it behind for good.
    return [hset, ["EXPIRE", dkey, 14 * DAY]] + [cmd for rid in a.to for cmd in (
        ["SADD", Keys.alerted_for.format(pid=rid), pid], ["EXPIRE", Keys.alerted_for.format(pid=rid), 14 * DAY])]


def _rid(field_name: str) -> str:
    return field_name.split(":", 1)[1]


def escalate(line: Line, pid: str, tid: int, rnd: int, failed: list[str], now: float) -> None:
    """An alert could not reach some people: hand it on to the organizers, and tell the member."""
    store = line.store
    orgs = [o for o in store.organizers() if o != pid]
    buddies = set(store.confirmed_buddies(pid))

    def txn(pipe, timer, deliveries):
        if timer is None or timer.tid != tid or timer.status != session.ALERTING or "ended" in deliveries:
            pipe.multi()
            return
        in_round = {_rid(f) for f in deliveries if f.startswith(f"{rnd}:")}
        extra = [o for o in orgs if o not in in_round]
        unreachable = {_rid(f) for f, v in deliveries.items() if v.startswith("failed") and ":" in f} | set(failed)
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
            dkey = Keys.deliveries.format(pid=pid, tid=tid)
            pipe.hset(dkey, mapping={f"{rnd}:{o}": "pending" for o in extra})
            new = replace(timer, alerted=tuple(dict.fromkeys(timer.alerted + tuple(extra))))
            store.write_timer(pipe, pid, new, now)
            for o in extra:
                pipe.sadd(Keys.alerted_for.format(pid=o), pid)
                pipe.expire(Keys.alerted_for.format(pid=o), 14 * DAY)
            queue_round(line, pid, tid, rnd, f"{round_job_id(pid, tid, rnd)}-x{len(in_round)}", pipe)
        enqueue_texts(line, texts, pipe)

    store.transact(pid, txn)


def on_status(line: Line, sid: str, status: str, error: str, now: float, to: str | None = None) -> None:
    """A status callback: record who an alert reached; hand on alerts that did not arrive.

    With the recipient's number (to), any text's failure or delivery also tells whether they can be reached.
    """
    raw = line.redis.get(Keys.sid_ref.format(sid=sid))
    ref = json.loads(raw) if raw else {}
    # The member of an alarm or TEST is told of this failure by that path; others by on_delivery.
    told = {ref.get("pid"), ref.get("member")} - {None}
    on_delivery(line, to, status, error, now, skip=told)
    if not raw:
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
            line.store.mark_delivery(pid, tid, f, f"failed:{error or status}")
            escalate(line, pid, tid, int(f.split(":", 1)[0]), [_rid(f)], now)
        elif status == "delivered":
            line.store.mark_delivery(pid, tid, f, f"delivered:{sid}")
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
        if ":" not in f or f.startswith("r"):
            continue
        rid = _rid(f)
        if v.startswith("failed"):
            missed[rid] = True
        elif v.startswith(("sent", "delivered")):
            reached[rid] = True
    names = lambda ids: [display_name(line, r, pid) for r in ids]  # noqa: E731
    return names(r for r in reached if r not in missed), names(missed)


# Inbound --------------------------------------------------------------------
