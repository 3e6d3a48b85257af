"""Bulk texts (broadcasts, warnings) handed to Twilio at SMSLINE_SEND_RATE segments a second.

Twilio sends about one segment a second from a long code and queues the rest,
so a broadcast handed over at once would sit in front of any alarm for
minutes. Bulk texts therefore wait in an outbox in Redis, and a short job on
the BULK queue hands over about one second's worth, then schedules the next
one. Workers take HIGH before DEFAULT before BULK, so an alert or a reply that
comes in while a broadcast is going out is handed to Twilio before the rest
of it.

The rate is kept in Redis (a "theoretical arrival time", as in GCRA), so any
number of workers together stay under it. Texts move from the outbox into a
chunk list atomically before they are sent, and each send claims its message
id, so a worker that dies mid-chunk neither loses texts (the chunk goes back
to the outbox once it is stale) nor sends one twice (a text already sent is
skipped), except for the one text whose answer from Twilio was lost, the
window SPEC.md documents.
"""
from __future__ import annotations

import json
import logging
import math
import secrets
import time
from datetime import datetime, timezone

from .bootstrap import current
from .line import BULK, Line
from .notices import enqueue_texts
from .rendering import outgoing
from .gsm7 import segments
from .sending import seal_text, stored_form
from .store import DAY, Keys

log = logging.getLogger(__name__)

# A chunk hands over at most this many seconds' worth of segments once the line has
# kept pace, and up to twice that after an idle spell (the scheduler wakes a job up to a
# second late, and the credit keeps the average at the rate).
BURST_SECONDS = 1.0
CREDIT_SECONDS = 1.0
STALE_SECONDS = 90        # a chunk older than this was abandoned by a dead worker
CHAIN_SECONDS = 15        # the chain's liveness mark; the sweep kicks a chain that died
MAX_ATTEMPTS = 8
MAX_CHUNK = 500           # texts one job takes at most, whatever the rate (Lua's unpack has limits too)
BATCH_TTL = 2 * DAY


class BulkKeys:
    outbox = "sl:bulk:out"              # list of "segments|json" texts waiting their turn
    tat = "sl:bulk:tat"                 # the rate's theoretical arrival time (epoch seconds)
    chunks = "sl:bulk:chunks"           # zset chunk id -> when it was taken
    chunk = "sl:bulk:c:{cid}"           # list: the texts one job is sending
    chain = "sl:bulk:chain"             # set while a chunk job is queued or scheduled
    batch = "sl:bulk:b:{bid}"           # hash: total, notify, key, count, fields
    batch_done = "sl:bulk:b:{bid}:done"  # set of message ids finished (sent, failed or skipped)
    batch_noticed = "sl:bulk:b:{bid}:noticed"


# Take what the rate allows from the head of the outbox into a chunk list.
TAKE = """
local now, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local burst, credit = tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now - credit then tat = now - credit end
local taken = {}
local most = tonumber(ARGV[6])
while tat <= now + burst and #taken < most do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local seg = tonumber(string.match(head, '^(%d+)|')) or 1
  redis.call('LPOP', KEYS[1])
  taken[#taken + 1] = head
  tat = tat + seg / rate
end
if #taken == 0 then return {} end
redis.call('SET', KEYS[2], tostring(tat), 'EX', 86400)
redis.call('RPUSH', KEYS[3], unpack(taken))
redis.call('EXPIRE', KEYS[3], 86400)
redis.call('ZADD', KEYS[4], now, ARGV[5])
return taken
"""

# Put an abandoned chunk back at the head of the outbox, in its order.
RESTORE = """
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #items, 1, -1 do redis.call('LPUSH', KEYS[2], items[i]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return #items
"""

# Keep the chain mark while there is work; drop it when there is none (atomically with the
# check, so a text queued at this instant either is seen here or finds the mark gone).
MORE = """
if redis.call('LLEN', KEYS[1]) > 0 or redis.call('ZCARD', KEYS[2]) > 0 then
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[1])
  return 1
end
redis.call('DEL', KEYS[3])
return 0
"""


def _scripts(line: Line) -> dict:
    cache = line.__dict__.setdefault("_pacing_scripts", {})
    if not cache:
        cache.update(take=line.redis.register_script(TAKE), restore=line.redis.register_script(RESTORE),
                     more=line.redis.register_script(MORE))
    return cache


def _entry(text: dict) -> str:
    """A waiting bulk text: its segments, then its id, batch and attempts with the rest sealed (sending.seal_text)."""
    return f"{text.get('g', 1)}|{json.dumps(stored_form(text), separators=(',', ':'))}"


def _parse(raw: bytes | str) -> dict:
    raw = raw.decode() if isinstance(raw, bytes) else raw
    return json.loads(raw.split("|", 1)[1])


def queue_batch(line: Line, texts: list, notify: str | None = None, notice_key: str = "",
                notice_fields: dict | None = None) -> dict:
    """Queue texts (rendering.Outgoing) for paced sending; tell `notify` with `notice_key` once all went out.

    Returns the batch's id, how many texts, and how many segments they take.
    """
    bid = secrets.token_hex(6)
    entries = []
    for t in texts:
        d = seal_text(line, t)
        d["b"], d["g"] = bid, segments(t.body)
        entries.append(_entry(d))
    total_segments = sum(segments(t.body) for t in texts)
    if not entries:
        return {"id": bid, "texts": 0, "segments": 0}
    record = {"total": len(entries), "notify": notify or "", "key": notice_key,
              "fields": json.dumps(notice_fields or {}), "segments": total_segments}
    with line.redis.pipeline() as pipe:
        pipe.hset(BulkKeys.batch.format(bid=bid), mapping=record)
        pipe.expire(BulkKeys.batch.format(bid=bid), BATCH_TTL)
        pipe.rpush(BulkKeys.outbox, *entries)
        pipe.execute()
    kick(line)
    return {"id": bid, "texts": len(entries), "segments": total_segments}


def kick(line: Line | None = None, now: float | None = None) -> bool:
    """Start the chunk chain if there is bulk work and no chain is alive; safe to call any time.

    The worker's sweep calls this, so a chain lost to a crash or a Redis restart resumes.
    """
    line = line or current()
    now = time.time() if now is None else now
    recover(line, now)
    if not (line.redis.llen(BulkKeys.outbox) or line.redis.zcard(BulkKeys.chunks)):
        return False
    if not line.redis.set(BulkKeys.chain, "1", nx=True, ex=CHAIN_SECONDS):
        return False
    line.queues[BULK].enqueue_call(run_chunk, job_id=f"bulk-k{int(now)}-{secrets.token_hex(3)}",
                                   result_ttl=0, failure_ttl=DAY, description="bulk texts")
    return True


def recover(line: Line, now: float) -> int:
    """Return chunks abandoned by a dead worker to the head of the outbox."""
    stale = line.redis.zrangebyscore(BulkKeys.chunks, "-inf", now - STALE_SECONDS)
    restored = 0
    for cid in stale:
        cid = cid.decode()
        restored += _scripts(line)["restore"](
            keys=[BulkKeys.chunk.format(cid=cid), BulkKeys.outbox, BulkKeys.chunks], args=[cid])
    if restored:
        log.warning("put %d bulk texts from abandoned chunks back in the outbox", restored)
    return restored


def take(line: Line, now: float, cid: str) -> list[dict]:
    """Move what the rate allows now from the outbox into chunk `cid`."""
    from .gateways import bulk_rate

    rate = max(float(bulk_rate(line)), 0.001)  # the rate of the gateway that carries bulk texts now
    raw = _scripts(line)["take"](
        keys=[BulkKeys.outbox, BulkKeys.tat, BulkKeys.chunk.format(cid=cid), BulkKeys.chunks],
        args=[repr(now), repr(rate), repr(BURST_SECONDS), repr(CREDIT_SECONDS), cid, MAX_CHUNK])
    return [_parse(x) for x in raw]


def run_chunk(now: float | None = None, reschedule: bool = True) -> int:
    """The BULK job: send about a second's worth of bulk texts, then schedule the next chunk.

    Returns how many texts were handed over.
    """
    line = current()
    now = time.time() if now is None else now
    sent = 0
    try:
        recover(line, now)
        cid = secrets.token_hex(6)
        texts = take(line, now, cid)
        if texts:
            sent = _send_chunk(line, cid, texts)
    finally:
        if reschedule:
            _continue(line, now)
    return sent


def _continue(line: Line, now: float) -> None:
    more = _scripts(line)["more"](keys=[BulkKeys.outbox, BulkKeys.chunks, BulkKeys.chain], args=[CHAIN_SECONDS])
    if not more:
        return
    # One job per second slot: chains that meet in the same slot merge into one job. RQ keeps
    # schedules in whole seconds; the next boundary (not the one after) keeps the gap near a second.
    slot = math.ceil(now)
    line.queues[BULK].enqueue_at(datetime.fromtimestamp(slot, timezone.utc), run_chunk, job_id=f"bulk-{slot}",
                                 result_ttl=0, failure_ttl=DAY, description="bulk texts")


def _send_chunk(line: Line, cid: str, texts: list[dict]) -> int:
    from .sending import open_texts, send_once
    from .transport import BULK

    texts, gone = open_texts(line, texts)
    out = send_once(line, texts, kind=BULK)
    finished, retry = out.finished + gone, list(out.busy)  # busy: another sender holds it now; look again later
    for t in out.retry:
        t["n"] = t.get("n", 0) + 1
        (retry if t["n"] < MAX_ATTEMPTS else finished).append(t)
    r = line.redis
    with r.pipeline() as pipe:
        if retry:
            pipe.rpush(BulkKeys.outbox, *[_entry(t) for t in retry])
        pipe.delete(BulkKeys.chunk.format(cid=cid))
        pipe.zrem(BulkKeys.chunks, cid)
        pipe.execute()
    _finish(line, finished)
    return len(out.sent)


def _finish(line: Line, texts: list[dict]) -> None:
    """Count finished texts per batch; the batch's last one sends the notice, once."""
    r = line.redis
    by_batch: dict[str, list[str]] = {}
    for t in texts:
        if t.get("b"):
            by_batch.setdefault(t["b"], []).append(t["id"])
    for bid, ids in by_batch.items():
        done_key = BulkKeys.batch_done.format(bid=bid)
        with r.pipeline() as pipe:
            pipe.sadd(done_key, *ids)
            pipe.expire(done_key, BATCH_TTL)
            pipe.scard(done_key)
            pipe.hgetall(BulkKeys.batch.format(bid=bid))
            _, _, done, raw = pipe.execute()
        batch = {k.decode(): v.decode() for k, v in raw.items()}
        if not batch or done < int(batch.get("total", 0)):
            continue
        if batch.get("notify") and r.set(BulkKeys.batch_noticed.format(bid=bid), 1, nx=True, ex=BATCH_TTL):
            _notice(line, bid, batch)


def _notice(line: Line, bid: str, batch: dict) -> None:
    fields = json.loads(batch.get("fields") or "{}")
    o = outgoing(line, batch["notify"], batch["key"], fields, line.now(), f"bulk-done-{bid}")
    if o:
        enqueue_texts(line, [o])


def pending(line: Line) -> int:
    """Texts still waiting or being sent."""
    r = line.redis
    n = r.llen(BulkKeys.outbox)
    for cid in r.zrange(BulkKeys.chunks, 0, -1):
        n += r.llen(BulkKeys.chunk.format(cid=cid.decode()))
    return n


def drain(line: Line, max_chunks: int = 10000, step: float = 1.0, start: float | None = None) -> int:
    """Send everything queued, moving a virtual clock forward a step per chunk (tests, scripts)."""
    now = time.time() if start is None else start
    sent = 0
    for _ in range(max_chunks):
        if not pending(line):
            break
        sent += run_chunk(now=now, reschedule=False)
        now += step
    line.redis.delete(BulkKeys.chain)
    return sent


def seconds_for(segments_total: int, rate: float) -> int:
    """About how long a bulk batch takes at the rate, for the organizer."""
    return int(math.ceil(segments_total / max(rate, 0.001)))

