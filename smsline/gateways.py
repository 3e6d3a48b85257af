"""Several gateways in order (SMSLINE_GATEWAYS), with failover, behind the one transport interface.

Texts go through the first gateway that can take them. A gateway cannot take
texts when it refuses the account (Twilio 20003 and the like, HTTP 401/403),
when it has answered only 5xx or timeouts for over FAILING_SECONDS, or when
carriers filter its alerts (reported by status callbacks). Then it is marked
down in Redis (so every process sees it), the texts it did not take go at once
through the next gateway, and organizers are told once. A gateway that is down
gets a text that is not an alert again after a while (one process at a time);
when it takes it, it is up again and the line goes back to it.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future

from .android import AndroidTransport
from .notices import enqueue_texts
from .queues import queue_round, round_job_id
from .rendering import outgoing
from .store import DAY, round_of
from .transport import ALERT, TEXT, SendError, Transport, TwilioTransport

log = logging.getLogger(__name__)

# Twilio: 20003 authentication failed, 20005 account not active, 30002 account suspended,
# 21606 the From number cannot send SMS. Any gateway: HTTP 401 or 403.
DOWN_CODES = {20003, 20005, 30002, 21606}
DOWN_STATUSES = {401, 403}
# Carriers filtering the line's texts (Twilio status callbacks): 30007 filtered, 30032 toll-free
# number not verified, 30034 unregistered 10DLC number, 30873 sex-related use case refused.
FILTERED_CODES = {"30007", "30032", "30034", "30873"}
FAILING_SECONDS = 30  # 5xx and timeouts for this long, with no success between: the gateway is down
PROBE_SECONDS = 30  # a gateway down for a refusal or errors gets a text again after this
FILTERED_PROBE_SECONDS = 600  # ... and after this when carriers filter it
CACHE_SECONDS = 1.0  # how stale this process's view of the states may be
NAMES = {"twilio": "Twilio", "android": "Android"}  # proper names, the same in every language


class GatewayKeys:
    state = "sl:gw:{name}"  # hash: down (when), reason, retry_at, failing (first error of a streak)
    probe = "sl:gw:{name}:probe"  # one process at a time tries a gateway that is down


class Failover(Transport):
    """Ordered gateways; each text goes through the first that can take it (see the module)."""

    def __init__(self, redis, gateways: list[tuple[str, Transport]], clock=time.time):
        self.r = redis
        self.gateways = dict(gateways)
        self.order = [name for name, _ in gateways]
        self.clock = clock
        self.on_change = None  # (name, "down" | "up", reason): set by attach()
        self._view: dict = {}
        self._view_at = -1e18
        self._lock = threading.Lock()

    # The interface ---------------------------------------------------------------

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        result = self.send_many([(to, body)], status_callback)[0]
        if isinstance(result, SendError):
            raise result
        return result

    def send_many(self, texts, status_callback=None, kind: str = TEXT, via: str | None = None) -> list:
        return self.submit_many(texts, status_callback, kind, via).result() if texts else []

    def submit_many(self, texts, status_callback=None, kind: str = TEXT, via: str | None = None) -> Future:
        outer: Future = Future()
        results: list = [None] * len(texts)
        if not texts:
            outer.set_result(results)
            return outer
        candidates = self.candidates(kind, via)

        def attempt(i: int, idxs: list[int]) -> None:
            name = candidates[i]
            callback = status_callback if name == "twilio" else None
            try:
                future = self.gateways[name].submit_many([texts[j] for j in idxs], callback, kind, via)
            except Exception as e:  # a gateway that cannot even start counts as an answer
                future = Future()
                future.set_exception(e)
            future.add_done_callback(lambda f: answered(i, idxs, f))

        def answered(i: int, idxs: list[int], future: Future) -> None:
            name = candidates[i]
            try:
                got = future.result()
            except Exception as e:
                log.warning("gateway %s failed to send: %s", name, type(e).__name__)
                got = [SendError(None, None, True, type(e).__name__, ambiguous=True)] * len(idxs)
            for j, res in zip(idxs, got):
                results[j] = res
            try:
                again = self._judge(name, idxs, got)
            except Exception:  # Redis cannot keep the state: a refusal is still handed on
                log.exception("could not record gateway %s's state", name)
                again = [j for j, res in zip(idxs, got) if isinstance(res, SendError) and _refusal(res)]
            if again and i + 1 < len(candidates):
                log.warning("%d texts handed from %s to %s", len(again), name, candidates[i + 1])
                attempt(i + 1, again)
            else:
                outer.set_result(results)

        attempt(0, list(range(len(texts))))
        return outer

    def warm_up(self) -> None:
        for gateway in self.gateways.values():
            warm = getattr(gateway, "warm_up", None)
            if warm:
                warm()

    def close(self) -> None:
        for gateway in self.gateways.values():
            close = getattr(gateway, "close", None)
            if close:
                close()

    # Choosing and judging --------------------------------------------------------

    def candidates(self, kind: str, via: str | None = None) -> list[str]:
        """Gateways to try in turn: those up (the one asked for first), then those down, as a last resort.

        A down gateway whose wait is over goes in its place for a text that is not an alert, once
        per wait across processes: an alert never waits on a gateway that may still be down."""
        order = ([via] if via in self.gateways else []) + [n for n in self.order if n != via]
        try:
            view, now = self.states(), self.clock()
            first, rest = [], []
            for name in order:
                st = view.get(name, {})
                if not st.get("down"):
                    first.append(name)
                elif kind != ALERT and now >= float(st.get("retry_at") or 0) and self.r.set(
                        GatewayKeys.probe.format(name=name), "1", nx=True, ex=PROBE_SECONDS):
                    first.append(name)
                else:
                    rest.append(name)
        except Exception:  # Redis cannot say: texts still go, in the configured order
            log.warning("could not read the gateways' states; trying them in order")
            return order
        return first + rest

    def _judge(self, name: str, idxs: list[int], got: list) -> list[int]:
        """Record each answer and the gateway's state; returns the texts to hand to the next gateway."""
        ok = any(isinstance(res, str) for res in got)
        refused = next((res for res in got if isinstance(res, SendError) and _refusal(res)), None)
        errors = [res for res in got if isinstance(res, SendError) and _outage(res)]
        down = False
        if refused is not None:
            down = self.mark_down(name, f"refused ({refused.code or refused.status})", PROBE_SECONDS)
        elif ok:
            self.mark_up(name)
        elif errors:
            down = self._failing(name, errors[-1])
        again = []
        for j, res in zip(idxs, got):
            if isinstance(res, SendError) and down and (_refusal(res) or _outage(res)):
                again.append(j)
        return again

    def _failing(self, name: str, err: SendError) -> bool:
        """5xx or a timeout: down once the streak lasts over FAILING_SECONDS (at once if it was down)."""
        key, now = GatewayKeys.state.format(name=name), self.clock()
        with self.r.pipeline() as pipe:
            pipe.hsetnx(key, "failing", repr(now))
            pipe.hmget(key, "failing", "down")
            pipe.expire(key, 7 * DAY)
            _, (since, was_down), _ = pipe.execute()
        self._view_at = -1e18
        if was_down:
            self.r.hset(key, "retry_at", repr(now + PROBE_SECONDS))
            return True
        if now - float(since) > FAILING_SECONDS:
            return self.mark_down(name, f"no answer for {int(now - float(since))} s ({err.status or err.detail})",
                                  PROBE_SECONDS)
        return False

    def mark_down(self, name: str, reason: str, retry_in: float) -> bool:
        """Mark a gateway down; the first process to do so tells organizers. Returns True (it is down)."""
        key, now = GatewayKeys.state.format(name=name), self.clock()
        with self.r.pipeline() as pipe:
            pipe.hsetnx(key, "down", repr(now))
            pipe.hset(key, mapping={"retry_at": repr(now + retry_in)})
            pipe.expire(key, 7 * DAY)
            first = pipe.execute()[0]
        self._view_at = -1e18
        if first:
            self.r.hset(key, "reason", reason)
            log.warning("gateway %s cannot take texts: %s", name, reason)
            self._changed(name, "down", reason)
        return True

    def mark_up(self, name: str) -> None:
        """A gateway took a text: clear its errors; if it was down, tell organizers it is back."""
        st = self.states().get(name, {})
        if not (st.get("down") or st.get("failing")):
            return
        key = GatewayKeys.state.format(name=name)
        with self.r.pipeline() as pipe:
            pipe.hdel(key, "down")
            pipe.delete(key)
            was_down = pipe.execute()[0]
        self._view_at = -1e18
        if was_down:
            log.warning("gateway %s takes texts again", name)
            self._changed(name, "up", "")

    def _changed(self, name: str, state: str, reason: str) -> None:
        if self.on_change is not None:
            try:
                self.on_change(name, state, reason)
            except Exception:
                log.exception("could not queue the notice that gateway %s is %s", name, state)

    def states(self) -> dict[str, dict]:
        """Each gateway's state as Redis has it (read at most once a CACHE_SECONDS)."""
        if time.monotonic() - self._view_at < CACHE_SECONDS:
            return self._view
        with self.r.pipeline(transaction=False) as pipe:
            for name in self.order:
                pipe.hgetall(GatewayKeys.state.format(name=name))
            raw = pipe.execute()
        view = {name: {k.decode(): v.decode() for k, v in h.items()} for name, h in zip(self.order, raw)}
        with self._lock:
            self._view, self._view_at = view, time.monotonic()
        return view

    def fresh_states(self) -> dict[str, dict]:
        self._view_at = -1e18
        return self.states()

    def active(self) -> str:
        """The gateway texts go through now: the first one up (the first of all when none is)."""
        view = self.states()
        return next((n for n in self.order if not view.get(n, {}).get("down")), self.order[0])


def _refusal(err: SendError) -> bool:
    """The gateway refuses the account itself: no text will go through it."""
    return err.code in DOWN_CODES or err.status in DOWN_STATUSES


def _outage(err: SendError) -> bool:
    """5xx, a timeout or no connection: the gateway is not answering (a 429 only asks to slow down)."""
    return err.retryable and err.status != 429 and err.code != 20429


# Wiring ----------------------------------------------------------------------------

def build(settings, redis, clock=time.time) -> Failover:
    """The gateways SMSLINE_GATEWAYS names, in its order."""
    made = {"twilio": TwilioTransport, "android": AndroidTransport}
    return Failover(redis, [(name, made[name](settings)) for name in settings.gateways], clock)


def attach(line) -> None:
    """Organizers hear once when a gateway goes down or comes back (through whichever gateway works)."""
    if isinstance(line.transport, Failover):
        line.transport.on_change = lambda name, state, reason: tell_organizers(line, name, state)


def tell_organizers(line, name: str, state: str) -> None:
    transport = line.transport
    others = [n for n in transport.order if n != name]
    now = line.now()
    fields = {"gateway": NAMES.get(name, name), "backup": NAMES.get(others[0], others[0]) if others else ""}
    key = ("gateway_down" if others else "gateway_down_alone") if state == "down" else "gateway_up"
    uid = f"gw-{name}-{state}-{int(now)}"
    texts = [o for o in (outgoing(line, pid, key, fields, now, uid) for pid in line.store.organizers()) if o]
    enqueue_texts(line, texts)


def filtered(line, name: str, sid: str, error: str) -> bool:
    """Carriers filter this gateway's texts: mark it down; an alert they stopped goes through the next one.

    Returns True when the alert was handed to the next gateway (then it is not yet a failed alert)."""
    transport = line.transport
    if str(error) not in FILTERED_CODES or not isinstance(transport, Failover) or len(transport.order) < 2:
        return False
    ref = line.store.sid_ref(sid) or {}
    if ref.get("kind") != "alert":
        return False  # filtering on an alert is what counts: one notice filtered is not the line's outage
    transport.mark_down(name, f"carriers filter its texts ({error})", FILTERED_PROBE_SECONDS)
    pid, tid, f = ref["pid"], ref["tid"], ref["field"]
    if not line.store.deliveries(pid, tid).get(f, "").startswith("sent"):
        return False
    rnd = round_of(f)
    # Pending again, then its round's job; if this process dies in between, the sweep sends what is pending.
    line.store.mark_delivery(pid, tid, f, "pending")
    queue_round(line, pid, tid, rnd, f"{round_job_id(pid, tid, rnd)}-f{sid[-12:]}")
    return True


def bulk_rate(line) -> float:
    """Bulk texts go at the rate of the gateway that carries them now."""
    if isinstance(line.transport, Failover):
        return line.settings.gateway_rate(line.transport.active())
    return line.settings.send_rate


def describe(line) -> list[str]:
    """One line per gateway for /healthz: its name and state."""
    if not isinstance(line.transport, Failover):
        return [] if line.settings.gateways else ["gateway simulator: up"]
    out = []
    for name, st in line.transport.fresh_states().items():
        if st.get("down"):
            since = int(line.now() - float(st["down"]))
            out.append(f"gateway {name}: down for {since} s, {st.get('reason', '')}".rstrip(", "))
        elif st.get("failing"):
            out.append(f"gateway {name}: failing for {int(line.now() - float(st['failing']))} s")
        else:
            out.append(f"gateway {name}: up")
    return out
