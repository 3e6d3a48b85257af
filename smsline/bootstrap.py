"""One place that wires settings, Redis, the store, the transport and the queues into a Line.

Both entry points (the Flask app and worker.py) call build(); RQ jobs reach the
same wiring through current(). What lower layers must call above themselves is
handed to them here (Line.on_delivery, the gateways' notices to organizers).
"""
from __future__ import annotations

import logging
import time

from redis import Redis
from rq import Queue

from . import config as config_mod
from . import embedded_redis, gateways
from .line import BULK, DEFAULT, HIGH, QUEUES, SEND, Line  # noqa: F401 (worker.py names the queues from here)
from .phones import normalize
from .reachability import on_delivery
from .rendering import generated_alias
from .store import Store
from .transport import LocalTransport

log = logging.getLogger(__name__)

_current: Line | None = None


class NoRedis(RuntimeError):
    """REDIS_URL is unset and no embedded Redis (`make run`'s, under var/) is running."""


def redis_from(settings) -> Redis:
    """A client that reconnects on its own after Redis restarts.

    Without REDIS_URL, the embedded Redis `make run` started under var/ is used if it is running,
    so `flask --app smsline ...` works beside `make run` with nothing to copy.
    """
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
    if transport is None:  # the gateways SMSLINE_GATEWAYS names, or the simulator's log
        transport = gateways.build(settings, redis) if settings.gateways else LocalTransport(redis)
    queues = {name: Queue(name, connection=redis) for name in QUEUES}
    line = Line(settings, redis, Store(redis, settings.secret_key, settings.secret_key_old), transport, queues,
                clock or time.time, on_delivery=on_delivery)
    gateways.attach(line)
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
