"""The alert sender (smsline/sender.py): claims before sends, the account's in-flight bound, one alert each.

Two Lines on one Redis stand for two worker processes. Their transport answers
after a short delay from a timer thread, like Twilio from the sending loop, and
checks at every request that the recipient was claimed first and that no more
requests are in flight, across both, than SMSLINE_SEND_CONCURRENCY.
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import Future

from smsline import create_app
from smsline.leases import LEASES
from smsline.sender import sender_for
from smsline.store import Keys
from smsline.transport import SendError, Transport

LIMIT = 6


class SlowAccount:
    """One Twilio account behind several transports: counts requests in flight across all of them."""

    def __init__(self, redis, delay: float = 0.03):
        self.redis, self.delay = redis, delay
        self.lock = threading.Lock()
        self.in_flight = self.most = 0
        self.sent: list[str] = []
        self.unclaimed: list[str] = []
        self.where: dict[str, tuple[str, str]] = {}  # number -> (deliveries key, field)
        self.fail: dict[str, SendError] = {}


class SlowTransport(Transport):
    def __init__(self, account: SlowAccount):
        self.account = account

    def submit_many(self, texts, status_callback=None, kind="text", via=None) -> Future:
        a, future = self.account, Future()
        (to, body), = texts
        key, field = a.where[to]
        if not (a.redis.hget(key, field) or b"").startswith(b"sending:"):
            a.unclaimed.append(to)
        with a.lock:
            a.in_flight += 1
            a.most = max(a.most, a.in_flight)

        def answer():
            with a.lock:
                a.in_flight -= 1
                a.sent.append(to)
            future.set_result([a.fail.get(to) or f"SM{len(a.sent):032d}"])

        threading.Timer(a.delay, answer).start()
        return future


def _line(world, account):
    app = create_app({"organizers": ("+14155550001",), "seconds_per_minute": 60.0, "send_concurrency": LIMIT},
                     redis=world.redis, transport=SlowTransport(account), clock=lambda: world.now)
    return app.extensions["smsline"]


def _round(line, account, pid: str, count: int, tid: int = 1, rnd: int = 1) -> list:
    """A recorded round of `count` recipients, its alerts rendered ahead (as the due job does)."""
    store = line.store
    key = Keys.deliveries.format(pid=pid, tid=tid)
    spec = {"key": "alert", "fields": {}, "last_to": [], "at": line.now()}
    line.redis.hset(key, f"r{rnd}", store.sealer.seal(json.dumps(spec), "round"))
    ready = []
    for i in range(count):
        rid, number = f"p{pid}{i}", f"+1646{hash((pid, i)) % 10_000_000:07d}"
        line.redis.hset(key, f"{rnd}:{rid}", "pending")
        account.where[number] = (key, f"{rnd}:{rid}")
        ready.append((pid, tid, rnd, f"{rnd}:{rid}", number, store.number_hash(number), "Alert: Rose needs you."))
    return ready


def test_two_processes_share_a_wave_within_the_accounts_bound_and_alert_each_person_once(world):
    account = SlowAccount(world.redis)
    one, two = _line(world, account), _line(world, account)
    rounds, ready = [], []
    for k in range(8):
        pid = f"m{k}"
        ready += _round(one, account, pid, 10)
        rounds.append((pid, 1, 1))
    # Both processes are handed the whole wave (as when the sweep and a due job overlap): each person once.
    b1 = sender_for(one).push(rounds, world.now, ready)
    b2 = sender_for(two).push(rounds, world.now, ready)
    out1, out2 = b1.wait(30), b2.wait(30)
    assert b1.done.is_set() and b2.done.is_set()
    assert sorted(account.sent) == sorted(account.where)  # every one of the 80, once
    assert account.unclaimed == []  # claimed before sent, every time
    assert account.most <= LIMIT  # the account's bound, across both processes
    assert account.most == LIMIT  # and it is used
    assert len(out1) + len(out2) == 80 and set(out1.values()) | set(out2.values()) == {"sent"}
    for key, field in account.where.values():
        assert world.redis.hget(key, field).startswith(b"sent:")
    assert world.redis.zcard(LEASES) == 0  # every lease given back


def test_answers_are_recorded_as_they_come_retry_goes_back_to_pending_and_ambiguous_keeps_its_claim(world):
    account = SlowAccount(world.redis)
    line = _line(world, account)
    ready = _round(line, account, "m0", 4)
    numbers = [r[4] for r in ready]
    account.fail[numbers[0]] = SendError(500, 500, True)
    account.fail[numbers[1]] = SendError(None, None, True, "ReadTimeout", ambiguous=True)
    out = sender_for(line).push([("m0", 1, 1)], world.now, ready).wait(30)
    state = {n: world.redis.hget(*account.where[n]) for n in numbers}
    assert state[numbers[0]] == b"pending" and state[numbers[1]].startswith(b"sending:")
    assert state[numbers[2]].startswith(b"sent:") and state[numbers[3]].startswith(b"sent:")
    assert sorted(out.values()) == ["retry", "sent", "sent", "unknown"]
    sid = state[numbers[2]].decode().split(":", 1)[1]
    assert json.loads(world.redis.get(Keys.sid_ref.format(sid=sid)))["field"] == account.where[numbers[2]][1]


def test_notices_wait_while_alerts_go_out_and_get_a_quarter_of_the_room(world):
    from smsline.leases import take_leases

    account = SlowAccount(world.redis, delay=0.3)
    line = _line(world, account)
    ready = _round(line, account, "m0", 3)
    batch = sender_for(line).push([("m0", 1, 1)], world.now, ready)
    assert world.redis.zcount(Keys.wave, world.now, "+inf") >= 1  # a wave is marked while alerts go out
    got = take_leases(line, LIMIT, timeout=0)  # one try, while the alerts are out
    assert len(got) <= max(1, LIMIT // 4)
    if got:
        world.redis.zrem(LEASES, *got)
    batch.wait(30)
    assert sender_for(line).wait_idle(30)
    assert world.redis.zcount(Keys.wave, world.now, "+inf") == 0  # and unmarked once they are out
