"""Redis keys and atomic updates. Key names hold opaque ids and keyed hashes, never numbers."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import WatchError

from .phones import keyed_hash
from .session import Timer

P = "sl:"
DAY = 86400


class Keys:
    person = P + "p:{pid}"              # hash: number, alias, lang, role, joined, ...
    by_number = P + "n:{h}"             # string: pid for a keyed hash of the number
    members = P + "members"             # set of member pids (joined, organizers too)
    organizers = P + "organizers"       # set of organizer pids
    member_invite = P + "inv:m:{pid}"   # hash: by, alias, at  (expires)
    organizer_invite = P + "inv:o:{pid}"
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
    sid_ref = P + "sid:{sid}"           # outbound Twilio SID -> json ref (delivery field)
    status = P + "st:{sid}"             # last status callback for an outbound SID
    rate = P + "rl:{pid}:{kind}"
    optout = P + "optout"               # set of keyed hashes of numbers that opted out
    stranger = P + "str:{h}"            # neutral reply already given to this unknown number
    heartbeat = P + "heartbeat"         # last sweep by a worker running the scheduler
    outage_notice = P + "outage"        # organizers were told the line cannot alarm
    sim_log = P + "sim:log"             # local transport: every text, for the simulator
    outbox = P + "outbox"               # hash id -> json text: notices a batch of timer steps queued
    stepping = P + "stepping:{second}"  # a worker thread has this second's due timers in hand (expires)
    wave = P + "wave"                   # zset sender token -> until: alerts being handed over (notices wait)
    unreachable = P + "unr:{pid}"       # why texts cannot reach this person: optout or failed:CODE (expires)


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
# An inbound text in one round trip: claim its MessageSid (ARGV[1], the claim's lifetime, is '' when the
# text has none), then read the sender: person id, record, member and organizer flags, timer. A repeated
# MessageSid reads nothing and gets back what the first delivery stored. The record and timer keys are
# built from the person id found here, so they cannot be passed in KEYS (fine on one Redis, not a cluster).
INBOUND = """
if ARGV[1] ~= '' and not redis.call('SET', KEYS[1], '', 'NX', 'EX', ARGV[1]) then
  return {0, redis.call('GET', KEYS[1])}
end
local pid = redis.call('GET', KEYS[2])
if not pid then
  return {1}
end
-- The person's fields as one JSON string: one reply element to parse instead of two per field.
return {1, pid, cjson.encode(redis.call('HGETALL', ARGV[2] .. pid)), redis.call('SISMEMBER', KEYS[3], pid),
        redis.call('SISMEMBER', KEYS[4], pid), redis.call('GET', ARGV[3] .. pid)}
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
UNREACHABLE_SECONDS = 90 * DAY  # a mark nobody cleared (no later text delivered, no opt-in) is dropped then


@dataclass
class Sender:
    """Who sent an inbound text, as read with its MessageSid claim."""

    pid: str | None = None
    person: dict = field(default_factory=dict)
    member: bool = False
    organizer: bool = False
    timer_raw: bytes | None = None  # parsed only by the commands that show the timer

    @property
    def timer(self) -> Timer | None:
        return Timer.from_dict(json.loads(self.timer_raw)) if self.timer_raw else None


class Store:
    """Everything the line keeps in Redis, one owner per key."""

    def __init__(self, redis: Redis, secret: str):
        self.r = redis
        self.secret = secret
        self._claim = redis.register_script(CLAIM)
        self._release = redis.register_script(RELEASE)
        self._inbound = redis.register_script(INBOUND)
        self._clear_unreachable = redis.register_script(CLEAR_UNREACHABLE)
        self._unreachable_buddies = redis.register_script(UNREACHABLE_BUDDIES)
        self._remove_organizer = redis.register_script(REMOVE_ORGANIZER)

    # People -----------------------------------------------------------------
    def number_hash(self, number: str) -> str:
        return keyed_hash(self.secret, number)

    def pid_for(self, number: str) -> str | None:
        v = self.r.get(Keys.by_number.format(h=self.number_hash(number)))
        return v.decode() if v else None

    def person(self, pid: str) -> dict:
        raw = self.r.hgetall(Keys.person.format(pid=pid))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def claim_inbound(self, sid: str, number: str, ttl: int = 2 * DAY) -> tuple[Sender | None, bytes | None]:
        """Claim an inbound MessageSid and read its sender, in one round trip.

        Returns (sender, None) for a first delivery or a text without a MessageSid, and
        (None, what keep_reply stored) for a repeat: b"" while the first is still being handled.
        """
        keys = [Keys.seen.format(sid=sid[:64] or "none"), Keys.by_number.format(h=self.number_hash(number)),
                Keys.members, Keys.organizers]
        out = self._inbound(keys=keys, args=[ttl if sid else "", _PERSON_PREFIX, _TIMER_PREFIX])
        if not out[0]:
            return None, out[1]
        if len(out) == 1:
            return Sender(), None
        _, pid, flat, member, organizer, timer_raw = out
        flat = json.loads(flat)  # an empty hash comes back as {} (Lua cannot tell an empty array from it)
        person = dict(zip(flat[0::2], flat[1::2])) if isinstance(flat, list) else {}
        return Sender(pid.decode(), person, bool(member), bool(organizer), timer_raw), None

    def sender(self, number: str) -> Sender:
        """The sender of a text that has no MessageSid to claim."""
        return self.claim_inbound("", number)[0]

    def keep_reply(self, sid: str, replies: list[str], ttl: int = 2 * DAY) -> None:
        """What a repeated delivery of this MessageSid gets back."""
        self.r.set(Keys.seen.format(sid=sid[:64] or "none"), json.dumps(replies), ex=ttl)

    def ensure_person(self, number: str) -> str:
        """The person id for a number, creating a bare record on first sight."""
        h = self.number_hash(number)
        key = Keys.by_number.format(h=h)
        pid = self.r.get(key)
        if pid:
            return pid.decode()
        new = secrets.token_hex(8)
        if self.r.set(key, new, nx=True):
            self.r.hset(Keys.person.format(pid=new), mapping={"number": number, "lang": "en"})
            return new
        return self.r.get(key).decode()

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

    # The safe and duress words mean something only to a member: a re-added member starts without them.
    COVERT_FIELDS = ("safe_salt", "safe_hash", "duress_salt", "duress_hash")

    def unenroll(self, pid: str, pipe=None) -> None:
        """End a membership: roles and covert words go. Queued on `pipe` when given (the caller executes it)."""
        if pipe is None:
            with self.r.pipeline() as own:
                self.unenroll(pid, own)
                own.execute()
            return
        pipe.srem(Keys.members, pid)
        pipe.srem(Keys.organizers, pid)
        pipe.hdel(Keys.person.format(pid=pid), "joined", "role", *self.COVERT_FIELDS)

    # Invitations ------------------------------------------------------------
    def invite(self, kind_key: str, pid: str, by: str, now: float, alias: str = "", ttl: int = 7 * DAY) -> None:
        key = kind_key.format(pid=pid)
        self.r.hset(key, mapping={"by": by, "alias": alias, "at": str(now)})
        self.r.expire(key, ttl)

    def invitation(self, kind_key: str, pid: str) -> dict | None:
        raw = self.r.hgetall(kind_key.format(pid=pid))
        return {k.decode(): v.decode() for k, v in raw.items()} or None

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
            pipe.execute()

    def drop_buddy(self, member: str, buddy: str) -> None:
        with self.r.pipeline() as pipe:
            pipe.hdel(Keys.buddies.format(pid=member), buddy)
            pipe.hdel(Keys.buddy_of.format(pid=buddy), member)
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
        raw = self.r.get(Keys.timer.format(pid=pid))
        return Timer.from_dict(json.loads(raw)) if raw else None

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
                    timer = Timer.from_dict(json.loads(raw)) if raw else None
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

    @staticmethod
    def timer_commands(pid: str, t: Timer, now: float) -> list[list]:
        """The writes that store a timer: record (with expiry), due index, alerting index."""
        ttl = 7 * DAY if not t.live else int(max(t.ends_at - now, 0)) + 7 * DAY
        cmds = [["SET", Keys.timer.format(pid=pid), json.dumps(t.to_dict()), "EX", ttl]]
        if t.live and t.next_at is not None:
            cmds.append(["ZADD", Keys.due, repr(t.next_at), pid])
        else:
            cmds.append(["ZREM", Keys.due, pid])
        cmds.append(["SADD" if t.live and t.status == "alerting" else "SREM", Keys.alerting, pid])
        return cmds

    def overdue(self, now: float, limit: int = 1000) -> list[tuple[str, float]]:
        return [(p.decode(), s) for p, s in self.r.zrangebyscore(Keys.due, "-inf", now, start=0, num=limit, withscores=True)]

    def armed(self, until: float, limit: int = 100000) -> list[tuple[str, float]]:
        return [(p.decode(), s) for p, s in self.r.zrangebyscore(Keys.due, "-inf", until, start=0, num=limit, withscores=True)]

    def claim_delivery(self, pid: str, tid: int, field: str, now: float) -> bool:
        return bool(self._claim(keys=[Keys.deliveries.format(pid=pid, tid=tid)], args=[field, repr(now)]))

    def release_delivery(self, pid: str, tid: int, field: str, older_than: float | None = None) -> bool:
        """Back to pending (unless the timer ended); with older_than, only a claim that old."""
        args = [field, "" if older_than is None else repr(older_than)]
        return bool(self._release(keys=[Keys.deliveries.format(pid=pid, tid=tid)], args=args))

    def mark_delivery(self, pid: str, tid: int, field: str, value: str) -> None:
        self.r.hset(Keys.deliveries.format(pid=pid, tid=tid), field, value)

    def deliveries(self, pid: str, tid: int) -> dict[str, str]:
        raw = self.r.hgetall(Keys.deliveries.format(pid=pid, tid=tid))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def live_alarms_for(self, pid: str) -> list[str]:
        return sorted(m.decode() for m in self.r.smembers(Keys.alerted_for.format(pid=pid)))

    def wipe(self, pid: str, number: str) -> None:
        """Erase everything stored about a person: record, links both ways, timer, invitations, words."""
        links = self.buddy_links(pid)
        of = self.buddy_of(pid)
        t = self.timer(pid)
        with self.r.pipeline() as pipe:
            for b in links:
                pipe.hdel(Keys.buddy_of.format(pid=b), pid)
            for m in of:
                pipe.hdel(Keys.buddies.format(pid=m), pid)
            pipe.delete(
                Keys.person.format(pid=pid), Keys.by_number.format(h=self.number_hash(number)),
                Keys.buddies.format(pid=pid), Keys.buddy_of.format(pid=pid), Keys.declined.format(pid=pid),
                Keys.member_invite.format(pid=pid), Keys.organizer_invite.format(pid=pid),
                Keys.timer.format(pid=pid), Keys.alerted_for.format(pid=pid), Keys.unreachable.format(pid=pid),
            )
            if t is not None:
                pipe.delete(Keys.deliveries.format(pid=pid, tid=t.tid))
            pipe.srem(Keys.members, pid)
            pipe.srem(Keys.organizers, pid)
            pipe.zrem(Keys.due, pid)
            pipe.srem(Keys.alerting, pid)
            pipe.execute()

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

    def unreachable(self, pids) -> set[str]:
        """Which of these people are marked unreachable or have opted out."""
        pids = list(pids)
        if not pids:
            return set()
        with self.r.pipeline(transaction=False) as pipe:
            for p in pids:
                pipe.exists(Keys.unreachable.format(pid=p))
                pipe.hget(Keys.person.format(pid=p), "number")
            got = pipe.execute()
        marked = {p for p, flag in zip(pids, got[0::2]) if flag}
        numbers = [(p, n.decode()) for p, n in zip(pids, got[1::2]) if n and p not in marked]
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
