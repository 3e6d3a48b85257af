"""The worker process: RQ workers with RQ's built-in scheduler, wired like the web app.

Also runs the safety sweep (re-arms timers from the line's own records and runs
overdue ones directly, since a dead scheduler's lock outlives it by about a minute)
and keeps the heartbeat job scheduled.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from redis.exceptions import ConnectionError, TimeoutError
from rq import SimpleWorker

from smsline import bootstrap, config, jobs

log = logging.getLogger("smsline.worker")

SWEEP_EVERY = 10
# How often a worker checks for a dead scheduler and takes its place (RQ's default is 600 s).
MAINTENANCE_INTERVAL = 30


def _sweeper(stop: threading.Event) -> None:
    while not stop.wait(SWEEP_EVERY):
        try:
            jobs.schedule_heartbeat()
            jobs.sweep()
        except (ConnectionError, TimeoutError, OSError):
            log.warning("Redis unreachable; sweep will try again")
        except Exception:
            log.exception("sweep failed")


def _start(line) -> None:
    """Wait for Redis with back-off, then seed organizers and run overdue timers at once."""
    delay = 0.5
    while True:
        try:
            line.redis.ping()
            break
        except (ConnectionError, TimeoutError, OSError):
            log.warning("Redis unreachable; retrying in %.1f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, 10)
    bootstrap.seed_organizers(line)
    bootstrap.check_redis(line)
    jobs.schedule_heartbeat(line)
    n = jobs.sweep(direct=True)
    if n:
        log.info("ran or re-armed %d timers at start", n)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    line = bootstrap.build(config.from_env())
    _start(line)
    stop = threading.Event()
    threading.Thread(target=_sweeper, args=(stop,), daemon=True, name="sweep").start()
    queues = [line.queues[name] for name in bootstrap.QUEUES]
    # SimpleWorker runs jobs in this process: no fork per job, so alerts go out in milliseconds.
    worker = SimpleWorker(queues, connection=line.redis, maintenance_interval=MAINTENANCE_INTERVAL)
    try:
        while True:
            try:
                worker.work(with_scheduler=True, logging_level="WARNING")
                return 0
            except (ConnectionError, TimeoutError) as e:
                if getattr(worker, "_stop_requested", False):
                    return 0
                log.warning("lost Redis (%s); reconnecting", type(e).__name__)
                time.sleep(1)
                _start(line)
                worker = SimpleWorker(queues, connection=line.redis, maintenance_interval=MAINTENANCE_INTERVAL)
    finally:
        stop.set()


if __name__ == "__main__":
    sys.exit(main())
