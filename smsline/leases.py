"""Room in flight, account-wide: every request to the gateway holds a lease while it is out.

Every worker process takes its leases from one Redis sorted set (token -> when it lapses), so two
processes together never have more than SMSLINE_SEND_CONCURRENCY requests out, and a process that
died gives its leases back by letting them lapse. Alerts claim a recipient and lease its request in one
script (sender.py); other texts take leases in chunks (sending.py).
"""
from __future__ import annotations

import secrets
import threading
import time

from .store import Keys

LEASES = Keys.inflight
LEASE_SECONDS = 30  # a lease its process never gave back (it died) lapses after this (Twilio timeout is 10 s)
POLL_SECONDS = 0.01  # how soon to look again when every lease is taken by another process

# Claim recipients and take a lease for each one's request, in one script: each is claimed and leased, or
# neither. KEYS: the lease set, then each recipient's deliveries hash; ARGV: now, the bound, when the leases
# lapse, then a field and a lease token per recipient. Returns per recipient 1 (claimed, leased), 0 (not
# pending any more: someone else has it, or the timer ended) or -1 (no room in flight: try again later).
CLAIM_LEASE = """
local now, limit, until_ = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(now))
local room = limit - redis.call('ZCARD', KEYS[1])
local out = {}
for i = 2, #KEYS do
  local f, token = ARGV[2 * i], ARGV[2 * i + 1]
  if room <= 0 then
    out[#out + 1] = -1
  elseif redis.call('HGET', KEYS[i], f) == 'pending' and redis.call('HEXISTS', KEYS[i], 'ended') == 0 then
    redis.call('HSET', KEYS[i], f, 'sending:' .. now)
    redis.call('ZADD', KEYS[1], until_, token)
    room = room - 1
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
redis.call('EXPIRE', KEYS[1], 86400)
return out
"""

# Take up to ARGV[4] leases (tokens ARGV[5..]) while fewer than ARGV[2] are out; returns how many were taken.
# While alerts are going out (KEYS[2], Keys.wave), other texts get at most a quarter of the room: the
# alerts' sender takes each lease as it comes back, and is never kept waiting long behind a broadcast.
TAKE_LEASES = """
local now, limit, until_, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCOUNT', KEYS[2], now, '+inf') > 0 then limit = math.max(1, math.floor(limit / 4)) end
local room = limit - redis.call('ZCARD', KEYS[1])
local n = math.min(room, want)
for i = 1, n do redis.call('ZADD', KEYS[1], until_, ARGV[4 + i]) end
if n > 0 then redis.call('EXPIRE', KEYS[1], 86400) end
return math.max(n, 0)
"""


_scripts: dict = {}


def _script(r, source: str):
    """The registered script for `source` (registered once); callers pass the client they use each time."""
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = r.register_script(source)
    return script


def claim_lease(r):
    return _script(r, CLAIM_LEASE)


def take_leases(line, want: int, timeout: float = 30.0) -> list[str]:
    """Leases for `want` requests (at least one; waits while others have every one), for texts that are not alerts."""
    r = line.redis
    script = _script(r, TAKE_LEASES)
    base = "txt-" + secrets.token_hex(6)
    tokens = [f"{base}:{i}" for i in range(want)]
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        now = line.now()
        n = int(script(keys=[LEASES, Keys.wave], args=[repr(now), max(1, line.settings.send_concurrency),
                                            repr(now + LEASE_SECONDS), want, *tokens], client=r))
        if n or time.monotonic() > deadline:
            return tokens[:n]
        pause.wait(POLL_SECONDS * 5)


def give_back(line, tokens: list[str]) -> None:
    if tokens:
        line.redis.zrem(LEASES, *tokens)
