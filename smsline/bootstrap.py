"""One place that wires settings, Redis, the store, the transport and the queues.

Both entry points (the Flask app and worker.py) call build(); RQ jobs reach the
same wiring through current().
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from redis import Redis
from rq import Queue

from . import config as config_mod
from . import transport as transport_mod
from .phones import normalize
from .session import Timing
from .store import Store

log = logging.getLogger(__name__)

# Alerts and replies go before everything else; bulk texts (broadcasts) last.
HIGH, DEFAULT, BULK = "smsline-high", "smsline-default", "smsline-bulk"
# Alert rounds handed to the second worker process, so an alarm wave uses both CPUs.
SEND = "smsline-send"
QUEUES = (HIGH, SEND, DEFAULT, BULK)


@dataclass
class Line:
    settings: config_mod.Settings
    redis: Redis
    store: Store
    transport: object
    queues: dict
    clock: object = time.time

    @property
    def timing(self) -> Timing:
        s = self.settings
        return Timing(s.seconds_per_minute, s.reminder_minutes, s.grace_minutes, s.realert_minutes, s.max_rounds)

    @property
    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.settings.timezone)
        except Exception:
            return ZoneInfo("UTC")

    def now(self) -> float:
        return self.clock()

    def status_callback(self) -> str | None:
        url = self.settings.public_url
        return f"{url}/sms/status" if url and self.settings.twilio_configured else None


_current: Line | None = None


class NoRedis(RuntimeError):
    """REDIS_URL is unset and no embedded Redis (`make run`'s, under var/) is running."""


def redis_from(settings) -> Redis:
    """A client that reconnects on its own after Redis restarts.

    Without REDIS_URL, the embedded Redis `make run` started under var/ is used if it is running,
    so `flask --app smsline ...` works beside `make run` with nothing to copy.
    """
    from . import embedded_redis

    url = settings.redis_url or embedded_redis.discover(embedded_redis.VAR_DIR)
    if not url:
        raise NoRedis("REDIS_URL is not set and no embedded Redis is running under var/: "
                      "start the line with `make run` (in another terminal), or set REDIS_URL")
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError, TimeoutError
    from redis.retry import Retry

    return Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), 8),
        retry_on_error=[ConnectionError, TimeoutError],
    )


def build(settings=None, *, redis=None, transport=None, clock=None) -> Line:
    """Wire a Line from settings; tests pass fakeredis, a recording transport and a clock."""
    global _current
    # twilio-python logs every request at INFO (ten lines each, from both its clients): keep numbers and
    # bodies out of the logs, and the CPU for the alerts.
    for name in ("twilio.http_client", "twilio.async_http_client"):
        logging.getLogger(name).setLevel(logging.WARNING)
    settings = config_mod.validate(settings or config_mod.from_env())
    redis = redis if redis is not None else redis_from(settings)
    transport = transport if transport is not None else transport_mod.build(settings, redis)
    queues = {name: Queue(name, connection=redis) for name in QUEUES}
    line = Line(settings, redis, Store(redis, settings.secret_key, settings.secret_key_old), transport, queues,
                clock or time.time)
    from .gateways import attach

    attach(line)
    _current = line
    return line


def current() -> Line:
    """The wiring jobs run with (built on first use inside a worker)."""
    global _current
    if _current is None:
        build()
    return _current


def seed_organizers(line: Line) -> int:
    """Make the configured organizers consenting members; safe to run at every start."""
    n = 0
    for raw in line.settings.organizers:
        number = normalize(raw, line.settings.default_region)
        if not number:
            log.warning("SMSLINE_ORGANIZERS holds a number that cannot be read; skipped")
            continue
        add_organizer(line, number)
        n += 1
    return n


def add_organizer(line: Line, number: str) -> str:
    pid = line.store.ensure_person(number)
    person = line.store.person(pid)
    if not person.get("alias"):
        from .service import generated_alias

        line.store.set_fields(pid, alias=generated_alias(pid), alias_generated="1")
    line.store.enroll(pid, organizer=True, now=line.now())
    return pid


def check_redis(line: Line) -> list[str]:
    """Warnings about a Redis that could lose timers: persistence off or evicting keys."""
    warnings = []
    try:
        persistence = line.redis.config_get("appendonly").get("appendonly")
        policy = line.redis.config_get("maxmemory-policy").get("maxmemory-policy")
    except Exception:
        return ["could not read Redis configuration (CONFIG GET refused); check AOF and noeviction yourself"]
    if persistence != "yes":
        warnings.append("Redis has AOF persistence off (appendonly no): timers can be lost on restart")
    if policy != "noeviction":
        warnings.append(f"Redis maxmemory-policy is {policy}, not noeviction: timers can be evicted")
    for w in warnings:
        log.warning(w)
    return warnings
