"""Redis keys and atomic updates. Key names hold opaque ids and keyed hashes, never numbers."""
from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import WatchError

from .phones import keyed_hash
from .sealing import Sealer
from .session import Timer

log = logging.getLogger(__name__)
P = "sl:"
DAY = 86400
INVITE_TTL = 7 * DAY   # an unanswered invitation, and the record of a number that only was invited
LAPSED_TTL = 30 * DAY  # the record of a number that declined, was unbuddied or was removed
KEPT_SECONDS = 2 * DAY  # an inbound MessageSid is remembered this long: Twilio redelivers within minutes
AOF_REWRITE_SECONDS = 60  # at most one AOF rewrite a minute, however many WIPEs


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i:i + n]


class Keys:
    person = P + "p:{pid}"              # hash: number, alias, lang, role, joined, ...
    by_number = P + "n:{h}"             # string: pid for a keyed hash of the number
    members = P + "members"             # set of member pids (joined, organizers too)
    organizers = P + "organizers"       # set of organizer pids
    member_invite = P + "inv:m:{pid}"   # hash: by, alias, at  (expires)
    organizer_invite = P + "inv:o:{pid}"
    buddy_invites = P + "inv:b"         # zset "member:buddy" -> when that pending buddy link lapses
    buddies = P + "b:{pid}"             # hash buddy pid -> json {status, name, at}
    buddy_of = P + "bof:{pid}"          # hash member pid -> status (pending/confirmed)
    declined = P + "bno:{pid}"          # set of member pids this person said NO to
    timer = P + "t:{pid}"               # json Timer
    due = P + "due"                     # zset pid -> next due time (re-arm sweep)
    alerting = P + "alerting"           # set of pids whose alarm is out (the sweep checks their sends)
    deliveries = P + "dl:{pid}:{tid}"   # hash "round:recipient" -> pending/sending/sent:SID/failed:CODE/cancelled
    alerted_for = P + "al:{pid}"        # set of member pids whose live alarm reached this person
    seen = P + "seen:{sid}"             # inbound MessageSid -> reply given
    android_event = P + "andev:{eid}"   # a phone's status event already acted on
    handed = P + "handed:{pid}:{tid}:{rnd}"  # recipients whose alert no gateway took for long: organizers alerted
    sent = P + "sent:{mid}"             # outbound message id claimed/sent
    message = P + "msg:{mid}"           # sealed text waiting for its send job (recipient by person id)
    ready = P + "ready:{token}"         # sealed alerts rendered ahead, handed to the other worker (short-lived)
    sid_ref = P + "sid:{sid}"           # outbound Twilio SID -> json ref (delivery field)
    status = P + "st:{sid}"             # last status callback for an outbound SID
    status_seen = P + "stseen:{sid}:{status}"  # this (SID, status) pair was acted on: a replay is ignored
    rate = P + "rl:{pid}:{kind}"
    flood = P + "fl:{h}"                # texts from a keyed hash of a number this minute (expires)
    optout = P + "optout"               # set of keyed hashes of numbers that opted out
    stranger = P + "str:{h}"            # neutral reply already given to this unknown number
    heartbeat = P + "heartbeat"         # last sweep by a worker running the scheduler
    outage_notice = P + "outage"        # organizers were told the line cannot alarm
    sim_log = P + "sim:log"             # local transport: every text, for the simulator
    outbox = P + "outbox"               # hash id -> json text: notices a batch of timer steps queued
    stepping = P + "stepping:{second}"  # a worker thread has this second's due timers in hand (expires)
    wave = P + "wave"                   # zset sender token -> until: alerts being handed over (notices wait)
    inflight = P + "inflight"           # zset lease token -> when it lapses: requests in flight, account-wide
    unreachable = P + "unr:{pid}"       # why texts cannot reach this person: optout or failed:CODE (expires)
    aof_due = P + "aof:due"             # a WIPE erased data: the AOF should be rewritten
    aof_lock = P + "aof:lock"           # a rewrite was started lately (rate limit)


# A recipient's delivery moves pending -> sending:<time> -> sent:<sid> (-> delivered/failed by callback).
# Once the timer ends, the field "ended" is set: nothing pending is sent after that.
CLAIM = """
if redis.call('HGET', KEYS[1], ARGV[1]) == 'pending' and redis.call('HEXISTS', KEYS[1], 'ended') == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], 'sending:' .. ARGV[2])
  return 1
end
return 0
"""
# Put a claimed send back (Twilio did not take it, or its worker died): pending, or cancelled if ended.
RELEASE = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 1, 8) == 'sending:' and (ARGV[2] == '' or tonumber(string.sub(v, 9)) < tonumber(ARGV[2])) then
  if redis.call('HEXISTS', KEYS[1], 'ended') == 1 then
    redis.call('HSET', KEYS[1], ARGV[1], 'cancelled')
    return 0
  end
  redis.call('HSET', KEYS[1], ARGV[1], 'pending')
  return 1
end
return 0
"""
RECORD_STATUS = """
-- A status callback: acted on once per (SID, status), and never taking a delivered text back to a failure.
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then return 0 end
local prev = redis.call('GET', KEYS[1])
if prev then
  local ok, p = pcall(cjson.decode, prev)
  if ok and type(p) == 'table' and p.status == 'delivered' and ARGV[1] ~= 'delivered' then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

# An inbound text in one round trip: claim its MessageSid (ARGV[1], the claim's lifetime, is '' when the
# text has none), count it against its number's flood window, then read the sender: person id, record,
# member and organizer flags, timer. A repeated MessageSid reads nothing and gets back what the first
# delivery stored. The record and timer keys are built from the person id found here, so they cannot be
# passed in KEYS (fine on one Redis, not a cluster).
# Two kinds of text are settled here for good, their claim kept at once as "[]" for ARGV[5] seconds, so a
# redelivery or a replay of a captured request gets nothing new:
#  - a question (ARGV[4] is '1': HELP or STATUS) from a member without covert words, answered at once;
#  - past ARGV[7] texts in ARGV[6] seconds from one number, a text that is not exempt (ARGV[8] is '1' for
#    OK, SOS, ACK, STOP and anything that could end a timer) from a number without covert words. Such a
#    text returns {2, whether this is the first one held back in the window, the sender's language}.
#    A member, an organizer or anyone with a timer is never held: their text is read as usual, marked slowed
#    (the last element), and the service answers it in one short reply unless it must be acted on.
INBOUND = """
local claim = ARGV[1] ~= ''
if claim and not redis.call('SET', KEYS[1], '', 'NX', 'EX', ARGV[1]) then
  return {0, redis.call('GET', KEYS[1])}
end
local n = 0
if ARGV[7] ~= '' then
  n = redis.call('HINCRBY', KEYS[5], 'n', 1)
  if n == 1 then redis.call('EXPIRE', KEYS[5], ARGV[6]) end
end
local pid = redis.call('GET', KEYS[2])
local pkey = pid and (ARGV[2] .. pid)
local member, organizer, covert, fields = 0, 0, false, {}
if pid then
  member, organizer = redis.call('SISMEMBER', KEYS[3], pid), redis.call('SISMEMBER', KEYS[4], pid)
  fields = redis.call('HGETALL', pkey)
  for i = 1, #fields, 2 do
    if fields[i] == 'safe_hash' or fields[i] == 'duress_hash' then covert = true end
  end
end
local limited = ARGV[7] ~= '' and n > tonumber(ARGV[7]) and ARGV[8] ~= '1'
-- A member, an organizer or anyone with a timer is never silenced: past the limit they are read in full
-- (slowed), the same for everyone, covert words or not; the service answers each text in one short reply.
local slowed = limited and pid and (member == 1 or organizer == 1 or redis.call('EXISTS', ARGV[3] .. pid) == 1)
if slowed then limited = false end
if claim and (limited or (ARGV[4] == '1' and (member == 1 or organizer == 1) and not covert)) then
  redis.call('SET', KEYS[1], '[]', 'EX', ARGV[5])
end
if limited then
  local lang = false
  for i = 1, #fields, 2 do
    if fields[i] == 'lang' then lang = fields[i + 1] end
  end
  return {2, redis.call('HSETNX', KEYS[5], 'told', 1), lang}
end
if not pid then
  return {1}
end
-- The person's fields as one JSON string: one reply element to parse instead of two per field.
return {1, pid, cjson.encode(fields), member, organizer, redis.call('GET', ARGV[3] .. pid), slowed and 1 or 0}
"""
# Every record about a person either has an owner or expires. A member, or a confirmed buddy of a
# member, is kept (no expiry). Anyone else (an invitee, someone who declined, was unbuddied or was
# removed) lapses: their record, number lookup, links and declines expire together, after at least
# ARGV[2] seconds. When they become a member or a buddy again, the expiry is lifted in the same script.
# Links to a member whose record is gone are dropped on the way. KEYS: number lookup, members set.
SETTLE_FN = """
local function settle(pid, nkey, members, ttl, prefix)
  local keys = {prefix .. 'p:' .. pid, nkey, prefix .. 'b:' .. pid, prefix .. 'bof:' .. pid, prefix .. 'bno:' .. pid}
  local kept = redis.call('SISMEMBER', members, pid) == 1
  local links = redis.call('HGETALL', keys[4])
  for i = 1, #links, 2 do
    if redis.call('EXISTS', prefix .. 'p:' .. links[i]) == 0 then
      redis.call('HDEL', keys[4], links[i])
    elseif links[i + 1] == 'confirmed' and redis.call('SISMEMBER', members, links[i]) == 1 then
      kept = true
    end
  end
  for _, k in ipairs(keys) do
    if kept then
      redis.call('PERSIST', k)
    elseif ttl > 0 then
      local left = redis.call('TTL', k)
      if left == -1 or (left >= 0 and left < ttl) then redis.call('EXPIRE', k, ttl) end
    end
  end
  return kept and 1 or 0
end
"""
SETTLE = SETTLE_FN + "return settle(ARGV[1], KEYS[1], KEYS[2], tonumber(ARGV[2]), ARGV[3])"
# The person id for a number, creating a bare record on first sight; then settle its lifetime.
ENSURE = SETTLE_FN + """
local pid = redis.call('GET', KEYS[1])
if not pid then
  pid = ARGV[1]
  redis.call('SET', KEYS[1], pid)
end
if redis.call('HSETNX', ARGV[4] .. 'p:' .. pid, 'number', ARGV[2]) == 1 then
  redis.call('HSETNX', ARGV[4] .. 'p:' .. pid, 'lang', 'en')
end
settle(pid, KEYS[1], KEYS[2], tonumber(ARGV[3]), ARGV[4])
return pid
"""
# A member or organizer invitation, once per pending request: returns 0 when this call invited,
# else the seconds the waiting invitation has left. KEYS: the invitation.
INVITE = """
local left = redis.call('TTL', KEYS[1])
if left ~= -2 then
  return math.max(left, 1)
end
redis.call('HSET', KEYS[1], 'by', ARGV[1], 'alias', ARGV[2], 'at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 0
"""
# A buddy invitation, once per pending request. KEYS: member's links, buddy's links, lapse index, buddy's
# number lookup, members. ARGV: buddy, member, link json, lapses at, now, ttl, prefix.
# Returns {'invited'}, {'confirmed'} or {'waiting', lapses at}; the invitee's records live at least ttl.
INVITE_BUDDY = SETTLE_FN + """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local pair = ARGV[2] .. ':' .. ARGV[1]
if cur then
  if cjson.decode(cur).status == 'confirmed' then
    return {'confirmed'}
  end
  local lapses = redis.call('ZSCORE', KEYS[3], pair)
  if lapses and tonumber(lapses) > tonumber(ARGV[5]) then
    return {'waiting', lapses}
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], 'pending')
redis.call('ZADD', KEYS[3], ARGV[4], pair)
settle(ARGV[1], KEYS[4], KEYS[5], tonumber(ARGV[6]), ARGV[7])
return {'invited'}
"""
# Pending buddy links past their time: drop both sides (unless answered meanwhile). KEYS: lapse index.
LAPSE_BUDDY_INVITES = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, pair in ipairs(due) do
  local sep = string.find(pair, ':', 1, true)
  local member, buddy = string.sub(pair, 1, sep - 1), string.sub(pair, sep + 1)
  local bkey, ofkey = ARGV[3] .. 'b:' .. member, ARGV[3] .. 'bof:' .. buddy
  local cur = redis.call('HGET', bkey, buddy)
  if cur and cjson.decode(cur).status == 'pending' then
    redis.call('HDEL', bkey, buddy)
  end
  if redis.call('HGET', ofkey, member) == 'pending' then
    redis.call('HDEL', ofkey, member)
  end
  redis.call('ZREM', KEYS[1], pair)
end
return #due
"""
# Key rotation: replace a value only if it is still the one read.
_CAS_STRING = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""
_CAS_FIELD = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
_PERSON_PREFIX, _TIMER_PREFIX = Keys.person.format(pid=""), Keys.timer.format(pid="")
# Clear the unreachable mark; with ARGV[1] = '1', only one a failed text set, and not while the number
# (its keyed hash in ARGV[2]) is opted out: an opt-out waits for an opt-in.
CLEAR_UNREACHABLE = """
local v = redis.call('GET', KEYS[1])
if not v or (ARGV[1] == '1' and (string.sub(v, 1, 6) == 'optout' or redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1)) then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
"""
# A member's confirmed buddies marked unreachable, in one round trip: {pid, link json, number, ...}.
UNREACHABLE_BUDDIES = """
local links = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #links, 2 do
  local ok, link = pcall(cjson.decode, links[i + 1])
  if ok and link.status == 'confirmed' and redis.call('EXISTS', ARGV[1] .. links[i]) == 1 then
    out[#out + 1] = links[i]
    out[#out + 1] = links[i + 1]
    out[#out + 1] = redis.call('HGET', ARGV[2] .. links[i], 'number') or ''
  end
end
return out
"""
# Take the organizer role from ARGV[1], unless they are the last organizer: 1 done, 0 last, -1 not one.
REMOVE_ORGANIZER = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  return -1
end
if redis.call('SCARD', KEYS[1]) <= 1 then
  return 0
end
redis.call('SREM', KEYS[1], ARGV[1])
return 1
"""
# fixb: an invitation is accepted or cancelled whole. ACCEPT enrolls ARGV[1] only while the invitation KEYS[1]
# still waits (1 joined, 0 none waits); CANCEL drops a non-member's waiting invitations (-1: a member by now,
# else how many were dropped). So a JOIN racing an organizer's REMOVE either joins first or finds nothing.
ACCEPT_INVITE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('SADD', KEYS[3], ARGV[1])
end
redis.call('HSET', KEYS[4], 'joined', ARGV[3])
redis.call('DEL', KEYS[5], KEYS[6])
return 1
"""
CANCEL_INVITES = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return -1
end
return redis.call('DEL', KEYS[2], KEYS[3])
"""
UNREACHABLE_SECONDS = 90 * DAY  # a mark nobody cleared (no later text delivered, no opt-in) is dropped then


@dataclass
class Sender:
    """Who sent an inbound text, as read with its MessageSid claim."""

    pid: str | None = None
    person: dict = field(default_factory=dict)
    member: bool = False
    organizer: bool = False
    timer_raw: bytes | None = None  # parsed only by the commands that show the timer
    held: bool = False  # past its number's flood limit: answered from the cheap path, not handled
    first_held: bool = False  # the first text held back in this window (it gets the one slow-down reply)
    slowed: bool = False  # a member's (or timer-holder's) text past the flood limit: one short reply, unless it matters
    sealer: Sealer | None = field(default=None, compare=False, repr=False)

    @property
    def timer(self) -> Timer | None:
        return decode_timer(self.sealer, self.timer_raw)


# The deliveries of one alarm (Keys.deliveries): field "r<round>" holds a round's sealed spec,
# "<round>:<rid>" one recipient's send ("pending", "sending:<at>", "sent:<sid>", "delivered:<sid>",
# "failed:<why>" or "cancelled"), and "ended" is set when the alarm is over. This is its one codec.
ALERT_ROUND_DAYS = 14  # an alarm's deliveries and alerted index outlive even an alarm nobody ends, then go


def delivery_field(rnd: int, rid: str) -> str:
    return f"{rnd}:{rid}"


def recipient_of(field_name: str) -> str | None:
    """Who a deliveries field is a send to; None for a round's spec and the "ended" mark."""
    if ":" not in field_name or field_name.startswith("r"):
        return None
    return field_name.split(":", 1)[1]


def round_of(field_name: str) -> int:
    return int(field_name.split(":", 1)[0])


def sent_as(sid: str) -> str:
    return f"sent:{sid}"


def delivered_as(sid: str) -> str:
    return f"delivered:{sid}"


def failed_as(why: str) -> str:
    return f"failed:{why}"


def encode_timer(sealer: Sealer, t: Timer) -> str:
    """A timer record as stored: JSON with the note sealed."""
    d = t.to_dict()
    if d.get("note"):
        d["note"] = sealer.seal(d["note"], "note")
    return json.dumps(d)


def decode_timer(sealer: Sealer, raw: bytes | str | None) -> Timer | None:
    if not raw:
        return None
    d = json.loads(raw)
    if d.get("note"):
        d["note"] = sealer.open(d["note"], "note")
    return Timer.from_dict(d)


class Store:
    """Everything the line keeps in Redis, one owner per key."""

    def __init__(self, redis: Redis, secret: str, old_secret: str | None = None):
        self.r = redis
        self.secret = secret
        self.old_secret = old_secret if old_secret != secret else None
        self.sealer = Sealer(secret, self.old_secret)
        self._claim = redis.register_script(CLAIM)
        self._release = redis.register_script(RELEASE)
        self._inbound = redis.register_script(INBOUND)
        self._record_status = redis.register_script(RECORD_STATUS)
        self._clear_unreachable = redis.register_script(CLEAR_UNREACHABLE)
        self._unreachable_buddies = redis.register_script(UNREACHABLE_BUDDIES)
        self._remove_organizer = redis.register_script(REMOVE_ORGANIZER)
        self._settle = redis.register_script(SETTLE)
        self._ensure = redis.register_script(ENSURE)
        self._invite = redis.register_script(INVITE)
        self._invite_buddy = redis.register_script(INVITE_BUDDY)
        self._lapse_buddy_invites = redis.register_script(LAPSE_BUDDY_INVITES)
        self._accept_invite = redis.register_script(ACCEPT_INVITE)
        self._cancel_invites = redis.register_script(CANCEL_INVITES)

    # People -----------------------------------------------------------------
    def number_hash(self, number: str) -> str:
        return keyed_hash(self.secret, number)

    def pid_for(self, number: str) -> str | None:
        v = self.r.get(Keys.by_number.format(h=self.number_hash(number)))
        if v is None and self.rekey_lookup(number):
            v = self.r.get(Keys.by_number.format(h=self.number_hash(number)))
        return v.decode() if v else None

    def person(self, pid: str) -> dict:
        raw = self.r.hgetall(Keys.person.format(pid=pid))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def people_and_links(self, pids: list[str], members: list[str] = ()) -> tuple[list[dict], list[dict]]:
        """Several people's records and several members' buddy links, in one round trip."""
        with self.r.pipeline(transaction=False) as pipe:
            for p in pids:
                pipe.hgetall(Keys.person.format(pid=p))
            for m in members:
                pipe.hgetall(Keys.buddies.format(pid=m))
            out = pipe.execute()
        people = [{k.decode(): v.decode() for k, v in raw.items()} for raw in out[:len(pids)]]
        links = [{k.decode(): json.loads(v) for k, v in raw.items()} for raw in out[len(pids):]]
        return people, links

    def drop_fields(self, pid: str, *fields: str) -> None:
        self.r.hdel(Keys.person.format(pid=pid), *fields)

    def roles(self, pid: str) -> tuple[bool, bool]:
        """Member and organizer, read together."""
        with self.r.pipeline(transaction=False) as pipe:
            pipe.sismember(Keys.members, pid)
            pipe.sismember(Keys.organizers, pid)
            return tuple(bool(x) for x in pipe.execute())

    def first_stranger_reply(self, number: str) -> bool:
        """True once a day per unknown number: the day's one neutral reply is due."""
        return bool(self.r.set(Keys.stranger.format(h=self.number_hash(number)), 1, nx=True, ex=DAY))

    def sid_ref(self, sid: str) -> dict | None:
        """What a sent text's SID refers to (an alert's delivery field, a TEST), if anything."""
        raw = self.r.get(Keys.sid_ref.format(sid=sid))
        return json.loads(raw) if raw else None

    def first_android_event(self, eid: str, ttl: int = 3 * DAY) -> bool:
        """True the first time a phone's event id is seen."""
        return bool(self.r.set(Keys.android_event.format(eid=eid), "1", nx=True, ex=ttl))

    def heartbeat(self) -> float | None:
        """When a worker running the scheduler last beat."""
        beat = self.r.get(Keys.heartbeat)
        return float(beat) if beat else None

    def note_outage(self, down: bool) -> bool:
        """Mark the workers down (or up again); True only when that changes the mark."""
        if down:
            return bool(self.r.set(Keys.outage_notice, "1", nx=True, ex=30 * DAY))
        return bool(self.r.delete(Keys.outage_notice))

    def keep_message(self, pipe, mid: str, sealed: str, ttl: int = 2 * DAY) -> None:
        """A text waiting for its send job, sealed (see sending.seal_text)."""
        pipe.set(Keys.message.format(mid=mid), sealed, ex=ttl)

    def record_status(self, sid: str, status: str, record: dict, ttl: int = 2 * DAY) -> bool:
        """Keep a status callback's record; False (nothing kept, nothing to act on) for a replayed
        (SID, status) pair or a failure arriving after the text was delivered."""
        word = "".join(c for c in status.lower() if c.isalnum())[:20] or "none"
        return bool(self._record_status(keys=[Keys.status.format(sid=sid), Keys.status_seen.format(sid=sid, status=word)],
                                        args=[status, json.dumps(record), ttl]))

    def claim_inbound(self, sid: str, number: str, ttl: int = 2 * DAY, question: bool = False,
                      exempt: bool = True, flood_limit: int = 0, flood_window: int = 60,
                      wait: float = 0) -> tuple[Sender | None, bytes | None]:
        """Claim an inbound MessageSid and read its sender, in one round trip.

        Returns (sender, None) for a first delivery or a text without a MessageSid, and
        (None, what keep_reply stored) for a repeat: b"" while the first is still being handled.
        A question (HELP, STATUS) from a member without covert words is settled with its claim; so is
        a text past flood_limit in flood_window seconds that is not exempt (sender.held). flood_limit 0
        counts nothing.

        With `wait`, a repeat whose first delivery is still being handled waits up to that many seconds
        for its reply, or, if that handler died (its claim lapsed unanswered), is claimed here to be
        acted on. A text is never dropped that way.
        """
        claimed = self._claim_inbound(sid, number, ttl, question, exempt, flood_limit, flood_window)
        deadline = time.monotonic() + wait
        while claimed[0] is None and not claimed[1] and time.monotonic() < deadline:
            time.sleep(0.05)
            claimed = self._claim_inbound(sid, number, ttl, question, exempt, flood_limit, flood_window)
        return claimed

    def _claim_inbound(self, sid: str, number: str, ttl: int, question: bool, exempt: bool, flood_limit: int,
                       flood_window: int) -> tuple[Sender | None, bytes | None]:
        h = self.number_hash(number)
        keys = [Keys.seen.format(sid=sid[:64] or "none"), Keys.by_number.format(h=h), Keys.members, Keys.organizers,
                Keys.flood.format(h=h)]
        out = self._inbound(keys=keys, args=[ttl if sid else "", _PERSON_PREFIX, _TIMER_PREFIX, int(question),
                                             KEPT_SECONDS, flood_window, flood_limit or "", int(exempt)])
        if not out[0]:
            return None, self.open_reply(out[1])
        if out[0] == 2:
            lang = out[2].decode() if out[2] else "en"
            return Sender(person={"lang": lang}, held=True, first_held=bool(out[1])), None
        if len(out) == 1:
            if self.old_secret and self.rekey_lookup(number):
                return self.claim_inbound("", number)[0], None
            return Sender(sealer=self.sealer), None
        _, pid, flat, member, organizer, timer_raw, slowed = out
        flat = json.loads(flat)  # an empty hash comes back as {} (Lua cannot tell an empty array from it)
        person = dict(zip(flat[0::2], flat[1::2])) if isinstance(flat, list) else {}
        return Sender(pid.decode(), person, bool(member), bool(organizer), timer_raw, sealer=self.sealer,
                      slowed=bool(slowed)), None

    def sender(self, number: str) -> Sender:
        """The sender of a text that has no MessageSid to claim."""
        return self.claim_inbound("", number)[0]

    def keep_reply(self, sid: str, replies: list[str], ttl: int = KEPT_SECONDS, pid: str | None = None) -> None:
        """What a repeated delivery of this MessageSid gets back (sealed, with whose it is, for WIPE)."""
        sealed = self.sealer.seal(json.dumps({"p": pid or "", "r": replies}), "reply")
        self.r.set(Keys.seen.format(sid=sid[:64] or "none"), sealed, ex=ttl)

    def open_reply(self, raw: bytes | None) -> bytes | None:
        """A kept reply as the JSON list of texts it was (b"" while the first delivery is in hand)."""
        if not raw:
            return raw
        plain = self.sealer.open(raw, "reply")
        d = json.loads(plain)
        return json.dumps(d["r"] if isinstance(d, dict) else d).encode()

    def rekey_lookup(self, number: str) -> bool:
        """After a key rotation: move this number's lookup from the old key's hash to the new one's."""
        if not self.old_secret:
            return False
        old = Keys.by_number.format(h=keyed_hash(self.old_secret, number))
        pid = self.r.get(old)
        if not pid:
            return False
        self.r.set(Keys.by_number.format(h=self.number_hash(number)), pid, nx=True)
        self.r.delete(old)
        return True

    def ensure_person(self, number: str, ttl: int = INVITE_TTL) -> str:
        """The person id for a number, creating a bare record on first sight.

        A record that is not kept (member, or buddy of one) lives at least ttl seconds from now.
        """
        self.pid_for(number)  # after a key rotation, moves a lookup under the old key's hash to the new one
        keys = [Keys.by_number.format(h=self.number_hash(number)), Keys.members]
        return self._ensure(keys=keys, args=[secrets.token_hex(8), number, ttl, P]).decode()

    def settle(self, pid: str, ttl: int = 0, number: str | None = None) -> bool:
        """Keep a member's or buddy's records (lift any expiry), or let anyone else's lapse after ttl.

        Returns True when the person is kept.
        """
        number = number or self.r.hget(Keys.person.format(pid=pid), "number")
        if not number:
            return False
        number = number.decode() if isinstance(number, bytes) else number
        keys = [Keys.by_number.format(h=self.number_hash(number)), Keys.members]
        return bool(self._settle(keys=keys, args=[pid, ttl, P]))

    def set_fields(self, pid: str, **fields) -> None:
        self.r.hset(Keys.person.format(pid=pid), mapping={k: str(v) for k, v in fields.items()})

    def is_member(self, pid: str) -> bool:
        return bool(self.r.sismember(Keys.members, pid))

    def is_organizer(self, pid: str) -> bool:
        return bool(self.r.sismember(Keys.organizers, pid))

    def organizers(self) -> tuple[str, ...]:
        return tuple(sorted(p.decode() for p in self.r.smembers(Keys.organizers)))

    def members(self) -> list[str]:
        return sorted(p.decode() for p in self.r.smembers(Keys.members))

    def enroll(self, pid: str, organizer: bool = False, now: float = 0.0) -> None:
        with self.r.pipeline() as pipe:
            pipe.sadd(Keys.members, pid)
            if organizer:
                pipe.sadd(Keys.organizers, pid)
            pipe.hset(Keys.person.format(pid=pid), "joined", str(now))
            pipe.delete(Keys.member_invite.format(pid=pid), Keys.organizer_invite.format(pid=pid))
            pipe.execute()
        # A member's records, and those of the buddies who confirmed for them, are kept from now on.
        self.settle(pid)
        for b in self.confirmed_buddies(pid):
            self.settle(b)

    # The safe and duress words mean something only to a member: a re-added member starts without them.
    COVERT_FIELDS = ("safe_salt", "safe_hash", "duress_salt", "duress_hash")

    def unenroll(self, pid: str, pipe=None) -> None:
        """End a membership: roles and covert words go. Queued on `pipe` when given (the caller executes it
        and then calls lapse_removed)."""
        if pipe is None:
            with self.r.pipeline() as own:
                self.unenroll(pid, own)
                own.execute()
            self.lapse_removed(pid)
            return
        pipe.srem(Keys.members, pid)
        pipe.srem(Keys.organizers, pid)
        pipe.hdel(Keys.person.format(pid=pid), "joined", "role", *self.COVERT_FIELDS)
        # A waiting invitation to organize goes with the membership: a removed member cannot YES their way back.
        pipe.delete(Keys.member_invite.format(pid=pid), Keys.organizer_invite.format(pid=pid))

    def lapse_removed(self, pid: str) -> None:
        """A removed member's records lapse, and so do their buddies' unless they still serve another member."""
        self.settle(pid, LAPSED_TTL)
        for b in self.confirmed_buddies(pid):
            self.settle(b, LAPSED_TTL)

    # Invitations ------------------------------------------------------------
    @staticmethod
    def _invite_key(kind: str, pid: str) -> str:
        """kind: "member" or "organizer"."""
        return (Keys.organizer_invite if kind == "organizer" else Keys.member_invite).format(pid=pid)

    def invite(self, kind: str, pid: str, by: str, now: float, alias: str = "", ttl: int = INVITE_TTL) -> int:
        """Invite once per pending request: 0 when this call invited, else the seconds the waiting one has left."""
        return int(self._invite(keys=[self._invite_key(kind, pid)], args=[by, alias, repr(now), ttl]))

    def invite_left(self, kind: str, pid: str) -> int:
        """Seconds a waiting invitation has left; 0 when none waits."""
        left = self.r.ttl(self._invite_key(kind, pid))
        return max(left, 1) if left != -2 else 0

    def accept_invite(self, kind: str, pid: str, organizer: bool = False, now: float = 0.0) -> bool:
        """Enroll pid if the invitation still waits (atomic with cancel_invites); False when none does."""
        keys = [self._invite_key(kind, pid), Keys.members, Keys.organizers, Keys.person.format(pid=pid),
                Keys.member_invite.format(pid=pid), Keys.organizer_invite.format(pid=pid)]
        if not int(self._accept_invite(keys=keys, args=[pid, "1" if organizer else "0", str(now)])):
            return False
        self.settle(pid)  # a member's records, and those of the buddies who confirmed for them, are kept
        for b in self.confirmed_buddies(pid):
            self.settle(b)
        return True

    def cancel_invites(self, pid: str) -> int:
        """Drop the member and organizer invitations waiting for a non-member: how many, or -1 if a member."""
        keys = [Keys.members, Keys.member_invite.format(pid=pid), Keys.organizer_invite.format(pid=pid)]
        return int(self._cancel_invites(keys=keys, args=[pid]))

    def invitation(self, kind: str, pid: str) -> dict | None:
        raw = self.r.hgetall(self._invite_key(kind, pid))
        return {k.decode(): v.decode() for k, v in raw.items()} or None

    def drop_invitation(self, kind: str, pid: str) -> None:
        self.r.delete(self._invite_key(kind, pid))

    # Buddies ----------------------------------------------------------------
    def buddy_links(self, member: str) -> dict[str, dict]:
        raw = self.r.hgetall(Keys.buddies.format(pid=member))
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    def confirmed_buddies(self, member: str) -> tuple[str, ...]:
        links = self.buddy_links(member)
        return tuple(sorted(b for b, v in links.items() if v.get("status") == "confirmed"))

    def set_buddy(self, member: str, buddy: str, status: str, name: str, now: float) -> None:
        with self.r.pipeline() as pipe:
            pipe.hset(Keys.buddies.format(pid=member), buddy, json.dumps({"status": status, "name": name, "at": now}))
            pipe.hset(Keys.buddy_of.format(pid=buddy), member, status)
            if status == "confirmed":
                pipe.zrem(Keys.buddy_invites, f"{member}:{buddy}")
            pipe.execute()
        if status == "confirmed":
            self.settle(buddy)

    def invite_buddy(self, member: str, buddy: str, number: str, name: str, now: float) -> tuple[str, float | None]:
        """A pending buddy link, once per pending request: ('invited'|'confirmed'|'waiting', lapses at)."""
        lapses = now + INVITE_TTL
        link = json.dumps({"status": "pending", "name": name, "at": now})
        keys = [Keys.buddies.format(pid=member), Keys.buddy_of.format(pid=buddy), Keys.buddy_invites,
                Keys.by_number.format(h=self.number_hash(number)), Keys.members]
        out = self._invite_buddy(keys=keys, args=[buddy, member, link, repr(lapses), repr(now), INVITE_TTL, P])
        state = out[0].decode()
        return state, (float(out[1]) if len(out) > 1 else lapses if state == "invited" else None)

    def buddy_invite_lapses(self, member: str, buddy: str) -> float | None:
        """When a pending buddy invitation lapses, or None."""
        return self.r.zscore(Keys.buddy_invites, f"{member}:{buddy}")

    def lapse_buddy_invites(self, now: float, limit: int = 500) -> int:
        """Drop pending buddy links older than INVITE_TTL; returns how many lapsed."""
        return int(self._lapse_buddy_invites(keys=[Keys.buddy_invites], args=[repr(now), limit, P]))

    def drop_buddy(self, member: str, buddy: str) -> None:
        with self.r.pipeline() as pipe:
            pipe.hdel(Keys.buddies.format(pid=member), buddy)
            pipe.hdel(Keys.buddy_of.format(pid=buddy), member)
            pipe.zrem(Keys.buddy_invites, f"{member}:{buddy}")
            pipe.execute()

    def buddy_of(self, buddy: str) -> dict[str, str]:
        raw = self.r.hgetall(Keys.buddy_of.format(pid=buddy))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def declined(self, buddy: str, member: str) -> bool:
        return bool(self.r.sismember(Keys.declined.format(pid=buddy), member))

    def decline(self, buddy: str, member: str) -> None:
        self.r.sadd(Keys.declined.format(pid=buddy), member)

    # Timers -----------------------------------------------------------------
    def timer(self, pid: str) -> Timer | None:
        return decode_timer(self.sealer, self.r.get(Keys.timer.format(pid=pid)))

    def transact(self, pid: str, fn):
        """Run fn(pipe, timer, deliveries) under WATCH on the member's timer and deliveries.

        fn does its reads through pipe (immediate while watching), calls pipe.multi(),
        then queues its writes; the whole thing retries if anything watched changed.
        """
        tkey = Keys.timer.format(pid=pid)
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(tkey)
                    raw = pipe.get(tkey)
                    timer = decode_timer(self.sealer, raw)
                    deliveries: dict[str, str] = {}
                    if timer is not None:
                        dkey = Keys.deliveries.format(pid=pid, tid=timer.tid)
                        pipe.watch(dkey)
                        deliveries = {k.decode(): v.decode() for k, v in pipe.hgetall(dkey).items()}
                    result = fn(pipe, timer, deliveries)
                    pipe.execute()
                    return result
                except WatchError:
                    continue

    def write_timer(self, pipe, pid: str, t: Timer, now: float) -> None:
        """Queue the timer record, its due index and its expiry."""
        for cmd in self.timer_commands(pid, t, now):
            pipe.execute_command(*cmd)

    def timer_commands(self, pid: str, t: Timer, now: float) -> list[list]:
        """The writes that store a timer: record (with expiry, note sealed), due index, alerting index."""
        ttl = 7 * DAY if not t.live else int(max(t.ends_at - now, 0)) + 7 * DAY
        cmds = [["SET", Keys.timer.format(pid=pid), encode_timer(self.sealer, t), "EX", ttl]]
        if t.live and t.next_at is not None:
            cmds.append(["ZADD", Keys.due, repr(t.next_at), pid])
        else:
            cmds.append(["ZREM", Keys.due, pid])
        cmds.append(["SADD" if t.live and t.status == "alerting" else "SREM", Keys.alerting, pid])
        return cmds

    def overdue(self, now: float, limit: int = 1000) -> list[tuple[str, float]]:
        return [(p.decode(), s) for p, s in self.r.zrangebyscore(Keys.due, "-inf", now, start=0, num=limit, withscores=True)]

    def armed(self, until: float | str, limit: int = 100000, since: float | str = "-inf") -> list[tuple[str, float]]:
        """Timers armed to fall due from `since` to `until`, soonest first (Redis bounds: "(x" leaves x out)."""
        return [(p.decode(), s) for p, s in self.r.zrangebyscore(Keys.due, since, until, start=0, num=limit, withscores=True)]

    def release_delivery(self, pid: str, tid: int, field: str, older_than: float | None = None) -> bool:
        """Back to pending (unless the timer ended); with older_than, only a claim that old."""
        args = [field, "" if older_than is None else repr(older_than)]
        return bool(self._release(keys=[Keys.deliveries.format(pid=pid, tid=tid)], args=args))

    def round_commands(self, pid: str, tid: int, rnd: int, sealed_spec: str, to) -> list[list]:
        """The writes that record a round: its spec, one pending delivery per recipient, the alerted index."""
        dkey = Keys.deliveries.format(pid=pid, tid=tid)
        hset = ["HSET", dkey, f"r{rnd}", sealed_spec]
        for rid in to:
            hset += [delivery_field(rnd, rid), "pending"]
        # The alerted index expires with the deliveries: an alarm nobody ends must not leave it behind for good.
        ttl = ALERT_ROUND_DAYS * DAY
        return [hset, ["EXPIRE", dkey, ttl]] + [cmd for rid in to for cmd in (
            ["SADD", Keys.alerted_for.format(pid=rid), pid], ["EXPIRE", Keys.alerted_for.format(pid=rid), ttl])]

    def add_recipients(self, pipe, pid: str, tid: int, rnd: int, rids: list[str]) -> None:
        """More people for a round already recorded (organizers an alert is handed on to)."""
        pipe.hset(Keys.deliveries.format(pid=pid, tid=tid), mapping={delivery_field(rnd, r): "pending" for r in rids})
        for r in rids:
            pipe.sadd(Keys.alerted_for.format(pid=r), pid)
            pipe.expire(Keys.alerted_for.format(pid=r), ALERT_ROUND_DAYS * DAY)

    def end_deliveries(self, pipe, pid: str, tid: int, now: float, cancel: list[str]) -> None:
        """The alarm is over: cancel sends not yet claimed, and refuse any later claim."""
        pipe.hset(Keys.deliveries.format(pid=pid, tid=tid),
                  mapping={"ended": repr(now), **{f: "cancelled" for f in cancel}})

    def unalert(self, pipe, pid: str, rids) -> None:
        """These people no longer have member pid's alarm open for them."""
        for rid in rids:
            pipe.srem(Keys.alerted_for.format(pid=rid), pid)

    def watch_member(self, pipe, pid: str) -> bool:
        """Inside a WATCH: is pid a member (a REMOVE committed meanwhile fails the transaction)?"""
        pipe.watch(Keys.members)
        return bool(pipe.sismember(Keys.members, pid))

    def mark_delivery(self, pid: str, tid: int, field: str, value: str) -> None:
        self.r.hset(Keys.deliveries.format(pid=pid, tid=tid), field, value)

    def deliveries(self, pid: str, tid: int) -> dict[str, str]:
        raw = self.r.hgetall(Keys.deliveries.format(pid=pid, tid=tid))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def live_alarms_for(self, pid: str) -> list[str]:
        return sorted(m.decode() for m in self.r.smembers(Keys.alerted_for.format(pid=pid)))

    def wipe(self, pid: str | None, number: str) -> int:
        """Erase everything stored about a number, whatever its role; returns how many keys went.

        Its record and lookups, links both ways, every timer's records (not only the
        current one), invitations, words, kept replies, send records and waiting
        texts to or about it, rate counters and the neutral-reply mark. Only its
        keyed hash in the opt-out set stays: a number that said STOP must stay
        stopped. One SCAN of the line's keys finds what is keyed by send or message
        ids; a WIPE is rare, so its cost (about a second per 100,000 keys) is fine.
        """
        hashes = [self.number_hash(number)] + ([keyed_hash(self.old_secret, number)] if self.old_secret else [])
        gone = 0
        alias = (self.r.hget(Keys.person.format(pid=pid), "alias") or b"").decode() if pid else ""
        if pid:
            links, of, t = self.buddy_links(pid), self.buddy_of(pid), self.timer(pid)
            with self.r.pipeline() as pipe:
                for b in links:
                    pipe.hdel(Keys.buddy_of.format(pid=b), pid)
                for m in of:
                    pipe.hdel(Keys.buddies.format(pid=m), pid)
                for rid in (t.alerted if t else ()):
                    pipe.srem(Keys.alerted_for.format(pid=rid), pid)
                pipe.delete(
                    Keys.person.format(pid=pid), Keys.buddies.format(pid=pid), Keys.buddy_of.format(pid=pid),
                    Keys.declined.format(pid=pid), Keys.member_invite.format(pid=pid),
                    Keys.organizer_invite.format(pid=pid), Keys.timer.format(pid=pid),
                    Keys.alerted_for.format(pid=pid),
                )
                pipe.srem(Keys.members, pid)
                pipe.srem(Keys.organizers, pid)
                pipe.zrem(Keys.due, pid)
                pipe.srem(Keys.alerting, pid)
                pipe.execute()
        with self.r.pipeline() as pipe:
            for h in hashes:
                pipe.delete(Keys.by_number.format(h=h), Keys.stranger.format(h=h), Keys.flood.format(h=h))
            if pid:
                pipe.delete(Keys.unreachable.format(pid=pid))
            pipe.execute()
        if pid:
            gone += self._sweep_keys(pid, hashes, [alias, number, number.lstrip("+")])
        else:
            # No record: only marks keyed by the number's hash can exist. Redis filters the scan itself, so a
            # flood of WIPE YES from unknown numbers costs little.
            for h in hashes:
                keys = list(self.r.scan_iter(match=Keys.rate.format(pid=h, kind="*"), count=1000))
                if keys:
                    self.r.delete(*keys)
                gone += len(keys)
        self._drop_from_sim_log(number)
        return gone

    def _drop_from_sim_log(self, number: str) -> None:
        """The demo's log of texts (no Twilio account): this number's texts, and any text naming it, go."""
        needle = number.encode()
        for entry in self.r.lrange(Keys.sim_log, 0, -1):
            if needle in entry or needle.lstrip(b"+") in entry:
                self.r.lrem(Keys.sim_log, 0, entry)

    def _sweep_keys(self, pid: str, hashes: list[str], names: list[str] = ()) -> int:
        """The SCAN part of wipe: keys named by ids that hold this person, and values that point to them."""
        owned = tuple(f"{P}{kind}:{x}:" for kind in ("dl", "rl") for x in [pid] + hashes)
        sent, waiting = Keys.sent.format(mid=""), Keys.message.format(mid="")
        drop, seen, refs, sets, hashes_out, lists = [], [], [], [], [], []
        for raw in self.r.scan_iter(match=P + "*", count=1000):
            k = raw.decode()
            if k.startswith(owned) or k.startswith(Keys.ready.format(token="")):
                drop.append(k)  # alerts rendered ahead are only a shortcut: the sender renders them again
            elif (k.startswith(sent) and pid in k) or (k.startswith(waiting) and k.endswith("-" + pid)):
                # Send records tie ids together: all go. Of the texts waiting, those to this person go;
                # those about them (a stand-down, a "no longer your buddy") must still reach the others.
                drop.append(k)
            elif k == P + "card:draft:" + pid:
                drop.append(k)
            elif k.startswith(Keys.seen.format(sid="")):
                seen.append(k)
            elif k.startswith(Keys.sid_ref.format(sid="")):
                refs.append(k)
            elif k.startswith((P + "bno:", P + "al:")):
                sets.append(k)
            elif k.startswith((P + "b:", P + "bof:")):
                hashes_out.append(k)
            elif k == Keys.outbox or k == P + "bulk:out" or k.startswith(P + "bulk:c:"):
                lists.append(k)
        drop += self._kept_replies_of(pid, seen, names)
        for chunk in _chunks(refs, 500):
            drop += [k for k, v in zip(chunk, self.r.mget(chunk)) if v and pid.encode() in v]
        with self.r.pipeline(transaction=False) as pipe:
            for chunk in _chunks(drop, 500):
                pipe.delete(*chunk)
            for k in sets:
                pipe.srem(k, pid)
            for k in hashes_out:
                pipe.hdel(k, pid)
            pipe.execute()
        self._drop_waiting_texts(pid, lists)
        return len(drop)

    def _kept_replies_of(self, pid: str, keys: list[str], names: list[str] = ()) -> list[str]:
        """Kept replies (sealed) that were given to this person, to drop.

        Kept replies given to others that name this person (their alias or number: "You are now a buddy of
        Zinnia") are emptied in place, same TTL: the key stays, so a redelivery of that text is still not
        acted on twice, and it gets no reply rather than the erased name.
        """
        import re

        words = [n for n in names if n]
        pattern = re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in words), re.I) if words else None
        mine, naming = [], []
        for chunk in _chunks(keys, 500):
            for k, v in zip(chunk, self.r.mget(chunk)):
                if not v:
                    continue
                try:
                    d = json.loads(self.sealer.open(v, "reply"))
                except ValueError:
                    continue
                if isinstance(d, dict) and d.get("p") == pid:
                    mine.append(k)
                elif isinstance(d, dict) and pattern and any(pattern.search(str(t)) for t in d.get("r") or ()):
                    naming.append((k, d.get("p") or ""))
        for k, owner in naming:
            # XX and KEEPTTL: never brings back a key that lapsed meanwhile, and keeps its expiry.
            self.r.set(k, self.sealer.seal(json.dumps({"p": owner, "r": []}), "reply"), xx=True, keepttl=True)
        return mine

    def _drop_waiting_texts(self, pid: str, keys: list[str]) -> None:
        """Texts waiting in the notices outbox or a bulk list to this person (a text's id ends with its recipient)."""
        if Keys.outbox in keys:
            fields = [f for f in self.r.hkeys(Keys.outbox) if f.endswith(b"-" + pid.encode())]
            if fields:
                self.r.hdel(Keys.outbox, *fields)
        for k in (k for k in keys if k != Keys.outbox):
            for entry in self.r.lrange(k, 0, -1):
                head = entry.split(b"|", 1)[-1]
                try:
                    mid = json.loads(head).get("id", "")
                except ValueError:
                    continue
                if mid.endswith("-" + pid):
                    self.r.lrem(k, 0, entry)  # LREM of the exact entry: atomic against a worker taking it

    # Key rotation -----------------------------------------------------------------
    def rotate(self) -> dict:
        """Seal again under the current key whatever the old key (or none) sealed, and move number lookups.

        Each value is replaced only if it is still what was read (a compare-and-set script), so texts
        handled meanwhile are never overwritten. Covert words cannot be rehashed without the word:
        they move when their member next uses them; `words_left` says how many still wait.
        """
        counts = {"resealed": 0, "lookups": 0, "words_left": 0}
        cas_str = self.r.register_script(_CAS_STRING)
        cas_field = self.r.register_script(_CAS_FIELD)
        strings = {Keys.seen.format(sid=""): "reply", Keys.message.format(mid=""): "text",
                   Keys.ready.format(token=""): "ready", P + "rep:": "report"}
        for raw in self.r.scan_iter(match=P + "*", count=1000):
            k = raw.decode()
            if k.startswith(Keys.person.format(pid="")):
                counts["lookups"] += self._rotate_person(k)
                person = self.person(k[len(Keys.person.format(pid="")):])
                counts["words_left"] += sum(1 for kind in ("safe", "duress") if person.get(f"{kind}_hash")
                                            and not person[f"{kind}_hash"].startswith(f"h1.{self.sealer.kid}."))
            elif k.startswith(Keys.timer.format(pid="")):
                v = self.r.get(k)
                if v and self._note_stale(v):
                    t = decode_timer(self.sealer, v)
                    counts["resealed"] += cas_str(keys=[k], args=[v, encode_timer(self.sealer, t)])
            elif k.startswith(Keys.deliveries.format(pid="", tid="")) or k == Keys.outbox \
                    or (k.startswith(P + "rep:") and self.r.type(k) == b"hash"):
                purpose = "round" if k.startswith(P + "dl:") else "text" if k == Keys.outbox else "report"
                for f, v in self.r.hgetall(k).items():
                    if (f.startswith(b"r") or purpose != "round") and (purpose != "report" or f == b"text") \
                            and self.sealer.stale(v):
                        new = self.sealer.seal(self.sealer.open(v, purpose), purpose)
                        counts["resealed"] += cas_field(keys=[k], args=[f, v, new])
            else:
                purpose = next((p for prefix, p in strings.items() if k.startswith(prefix)), None)
                if purpose and self.r.type(k) == b"string":
                    v = self.r.get(k)
                    if v and self.sealer.stale(v):
                        new = self.sealer.seal(self.sealer.open(v, purpose), purpose)
                        counts["resealed"] += cas_str(keys=[k], args=[v, new])
        return counts

    def _note_stale(self, raw: bytes) -> bool:
        note = json.loads(raw).get("note")
        return bool(note) and self.sealer.stale(note)

    def _rotate_person(self, key: str) -> int:
        number = self.r.hget(key, "number")
        if not number or not self.old_secret:
            return 0
        number = number.decode()
        old_h = keyed_hash(self.old_secret, number)
        if self.r.sismember(Keys.optout, old_h):
            self.r.sadd(Keys.optout, self.number_hash(number))
        return int(self.rekey_lookup(number))

    # The AOF --------------------------------------------------------------------
    def request_aof_rewrite(self, now: float) -> bool:
        """Ask Redis to rewrite its append-only file, so erased data leaves the disk; True if it started.

        At most one rewrite starts per AOF_REWRITE_SECONDS; a request inside that window (or one
        Redis refuses, e.g. a rewrite already running) stays due and the worker's sweep retries it.
        """
        self.r.set(Keys.aof_due, repr(now), ex=DAY)
        return self.rewrite_aof_if_due()

    def rewrite_aof_if_due(self) -> bool:
        if not self.r.exists(Keys.aof_due) or not self.r.set(Keys.aof_lock, "1", nx=True, ex=AOF_REWRITE_SECONDS):
            return False
        try:
            self.r.bgrewriteaof()
        except Exception as e:  # refused (in progress, AOF off, command renamed): retried by the sweep
            log.warning("BGREWRITEAOF refused: %s", type(e).__name__)
            return False
        self.r.delete(Keys.aof_due)
        return True

    def alerting(self) -> list[str]:
        return sorted(p.decode() for p in self.r.smembers(Keys.alerting))

    # Rate limits and misc ---------------------------------------------------
    def hit(self, pid: str, kind: str, limit: int, window: int) -> bool:
        """Count one use; False when the limit for the window is already spent."""
        key = Keys.rate.format(pid=pid, kind=kind)
        with self.r.pipeline() as pipe:
            # SET NX EX then INCR: EXPIRE NX needs Redis 7 and the embedded server is 6.2.
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
            _, n = pipe.execute()
        return n <= limit

    def opted_out(self, number: str) -> bool:
        return bool(self.r.sismember(Keys.optout, self.number_hash(number)))

    def opted_out_many(self, numbers: list[str]) -> list[bool]:
        with self.r.pipeline(transaction=False) as pipe:
            for n in numbers:
                pipe.sismember(Keys.optout, self.number_hash(n))
            return [bool(flag) for flag in pipe.execute()]

    def set_opt_out(self, number: str, out: bool) -> None:
        (self.r.sadd if out else self.r.srem)(Keys.optout, self.number_hash(number))

    # Reachability: people texts cannot reach (opted out, or a text to them failed) ------------------
    def mark_unreachable(self, pid: str, why: str) -> bool:
        """Mark a person unreachable; True only for the text that set the mark (members are told once)."""
        return bool(self.r.set(Keys.unreachable.format(pid=pid), why, nx=True, ex=UNREACHABLE_SECONDS))

    def clear_unreachable(self, pid: str, number: str | None = None) -> bool:
        """Drop the mark; True when there was one. With the number (a text was delivered to it), only a
        mark a failed text set, and only if the number has not opted out since."""
        h = self.number_hash(number) if number else ""
        return bool(self._clear_unreachable(keys=[Keys.unreachable.format(pid=pid), Keys.optout],
                                            args=["1" if number else "0", h]))

    def unreachable(self, pids, opted_out_of=None) -> set[str]:
        """Which of these people are marked unreachable or have opted out.

        With `opted_out_of`, an opt-out counts only for those pids (a waiting invitee's STOP is theirs to keep).
        """
        pids = list(pids)
        if not pids:
            return set()
        with self.r.pipeline(transaction=False) as pipe:
            for p in pids:
                pipe.exists(Keys.unreachable.format(pid=p))
                pipe.hget(Keys.person.format(pid=p), "number")
            got = pipe.execute()
        marked = {p for p, flag in zip(pids, got[0::2]) if flag}
        numbers = [(p, n.decode()) for p, n in zip(pids, got[1::2]) if n and p not in marked
                   and (opted_out_of is None or p in opted_out_of)]
        if numbers:
            with self.r.pipeline(transaction=False) as pipe:
                for _, n in numbers:
                    pipe.sismember(Keys.optout, self.number_hash(n))
                marked |= {p for (p, _), out in zip(numbers, pipe.execute()) if out}
        return marked

    def unreachable_buddies(self, member: str) -> list[tuple[str, dict, str]]:
        """A member's confirmed buddies marked unreachable: (pid, link, number), in one round trip."""
        out = self._unreachable_buddies(keys=[Keys.buddies.format(pid=member)],
                                        args=[Keys.unreachable.format(pid=""), _PERSON_PREFIX])
        return [(out[i].decode(), json.loads(out[i + 1]), out[i + 2].decode()) for i in range(0, len(out), 3)]

    def remove_organizer(self, pid: str) -> str:
        """Take the organizer role (they stay a member): "removed", "last" (refused) or "not_organizer"."""
        out = self._remove_organizer(keys=[Keys.organizers], args=[pid])
        return {1: "removed", 0: "last"}.get(int(out), "not_organizer")
