"""Stepping many due timers at once, in a few Redis round trips instead of a dozen per timer.

When a thousand timers lapse in the same second, per-timer transactions and jobs
cannot keep up (each Redis call costs a fraction of a millisecond of Python).
So a batch reads every due timer and what it needs in one pipeline, decides in
memory with the same pure state machine, and writes each timer with a
compare-and-set script: the write lands only if the timer record is exactly what
was read. A timer that changed in between (an OK at that very moment) is stepped
again the careful way, under WATCH. Texts that only tell the member go to the
outbox hash in the same script, and are sent after every alert.
"""
from __future__ import annotations

import json
import logging
from typing import NamedTuple

from . import messages, session
from .alarms import interpret
from .queues import schedule_due
from .rendering import Directory, text_fields
from .sending import open_texts, seal_text, send_once
from .session import People
from .store import DAY, Keys, decode_timer, delivery_field

log = logging.getLogger(__name__)

# Apply a timer's writes only if its record is still exactly what the batch read.
CAS = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local unpack = unpack or table.unpack
for _, cmd in ipairs(cjson.decode(ARGV[2])) do redis.call(unpack(cmd)) end
return 1
"""


class Plan(NamedTuple):
    """One timer's step, decided: applied only if the timer record is still `rec`."""
    pid: str
    rec: bytes
    due: float
    writes: str  # the step's Redis commands, as the compare-and-set script takes them (JSON)
    rounds: list  # (pid, tid, round) recorded by the writes
    texts: int  # notices the writes put in the outbox
    next_at: float | None  # when the timer's following step falls due, if it stays live
    ready: list  # alerts rendered ahead: (pid, tid, round, field, number, number hash, body)


def decide(line, pids: list[str], now: float, until: float | None = None) -> list[Plan]:
    """Decide the due steps of these timers, writing nothing.

    Each timer due by `now` (or, preparing early, by `until`) is stepped as of
    max(now, its due time): decided ahead, a step is exactly what it would be at
    its time, and commit() applies it only at its time and only if nothing changed.
    Preparing early, the alerts are rendered too, so that at the due moment only
    the writes and the sends are left.
    """
    store, r = line.store, line.redis
    horizon = now if until is None else until
    with r.pipeline(transaction=False) as pipe:
        for pid in pids:
            pipe.get(Keys.timer.format(pid=pid))
        pipe.smembers(Keys.organizers)
        raw = pipe.execute()
    organizers = tuple(sorted(o.decode() for o in raw[-1]))
    timers = {pid: (rec, decode_timer(store.sealer, rec)) for pid, rec in zip(pids, raw[:-1]) if rec}
    d = Directory(store)
    d.prefetch(pids=list(timers), links=list(timers))
    # Everyone these steps may text, read in one more round trip.
    d.prefetch(pids=[b for pid in timers for b in d.links(pid)] + list(organizers))
    plans = []
    for pid, (rec, t) in timers.items():
        if not t.live or t.next_at is None or t.next_at > horizon:
            continue
        at = max(now, t.next_at)
        buddies = tuple(sorted(b for b, v in d.links(pid).items() if v.get("status") == "confirmed"))
        people = People(member=pid, buddies=buddies, organizers=organizers)
        new, effects = session.tick(t, t.version, t.next_stage, at, people, line.timing)
        if new is t:
            continue
        cmds, rounds, texts, ready = store.timer_commands(pid, new, at), [], 0, []
        w = interpret(line, pid, t, new, effects, at, d=d)
        for e, commands in w.rounds:
            cmds += commands
            rounds.append((pid, new.tid, e.round))
            for rid in e.to if until is not None else ():
                person = d.person(rid)
                number, lang = person.get("number"), person.get("lang", "en")
                if not number or d.opted_out(number):
                    continue  # the sender finds it so and hands it on
                body = alert_body(line, pid, rid, lang, e.key, e.last_to, e.fields, at, d)
                ready.append((pid, new.tid, e.round, delivery_field(e.round, rid), number, store.number_hash(number),
                              body))
        for o in w.texts:
            cmds.append(["HSET", Keys.outbox, o.id, seal_text(line, o)["s"]])
            texts += 1
        plans.append(Plan(pid, rec, t.next_at, json.dumps(cmds), rounds, texts,
                          new.next_at if new.live else None, ready))
    return plans


def alert_body(line, pid: str, rid: str, lang: str, key: str, last_to, fields: dict, now: float, d) -> str:
    """One recipient's alert about member `pid`, in their language; the last round's wording for `last_to`.

    With a note, the key's *_note twin (where there is one) sends people where the note says; without
    one, nobody is sent "where the note says".
    """
    key = "alert_last" if rid in last_to else key
    if fields.get("note") and f"{key}_note" in messages.EN:
        key = f"{key}_note"
    return messages.render(key, lang, **text_fields(line, lang, fields, now, member=pid, d=d))


def commit(line, plans: list[Plan]) -> tuple[list[tuple[str, int, int]], list[str], int, list]:
    """Apply decided steps, each only if its timer is unchanged.

    Returns (rounds, pids changed meanwhile, texts queued, alerts rendered ahead for the rounds)."""
    r = line.redis
    cas = r.register_script(CAS)
    with r.pipeline(transaction=False) as pipe:
        for p in plans:
            cas(keys=[Keys.timer.format(pid=p.pid)], args=[p.rec, p.writes], client=pipe)
        applied = pipe.execute() if plans else []
    done = [p for p, ok in zip(plans, applied) if ok]
    retry = [p.pid for p, ok in zip(plans, applied) if not ok]
    _schedule(line, [p.next_at for p in done if p.next_at is not None])
    return ([rd for p in done for rd in p.rounds], retry, sum(p.texts for p in done),
            [x for p in done for x in p.ready])


def _schedule(line, next_ats: list[float]) -> None:
    """One scheduled job per second that any of these timers' next steps falls in."""
    seconds = {int(at) for at in next_ats}
    if not seconds:
        return
    with line.redis.pipeline(transaction=False) as pipe:
        for second in seconds:
            schedule_due(line, second, pipe)
        pipe.execute()


def alerts_going_out(line, pipe, token: str, until: float) -> None:
    """Mark alerts as being handed over until `until`: notices that only tell the member wait for them."""
    pipe.zremrangebyscore(Keys.wave, "-inf", line.now())  # senders that died
    pipe.zadd(Keys.wave, {token: until})
    pipe.expire(Keys.wave, DAY)


def alerts_in_progress(line) -> bool:
    return bool(line.redis.zrangebyscore(Keys.wave, line.now(), "+inf", start=0, num=1))


def drain_outbox(line, limit: int = 2000) -> int:
    """Send the notices batches queued, once each; each leaves the outbox when sent or failed for good.

    Returns how many are left for a later drain (not accepted yet, or held by another sender)."""
    items = []
    for k, v in line.redis.hscan_iter(Keys.outbox, count=500):
        items.append({"id": k.decode(), "s": v})
        if len(items) >= limit:
            break
    if not items:
        return 0
    texts, gone = open_texts(line, items)
    out = send_once(line, texts)
    if out.finished or gone:
        line.redis.hdel(Keys.outbox, *[t["id"] for t in out.finished + gone])
    return len(out.retry) + len(out.busy)
