"""The worker process: RQ workers with RQ's built-in scheduler, wired like the web app.

Two RQ workers run: this process works only the high queue (timer steps and
alert rounds), and a child process works every queue (notices, invitations,
broadcasts, and the high queue too when it is busy). So a batch of notices or a
broadcast chunk never holds an alarm back. Both run the scheduler; RQ lets one
hold it at a time.

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

from smsline import bootstrap, config, jobs, pacing

log = logging.getLogger("smsline.worker")

SWEEP_EVERY = 10
# How often a worker checks for a dead scheduler and takes its place (RQ's default is 600 s).
MAINTENANCE_INTERVAL = 10
# RQ only runs that check between jobs, and an idle worker waits for a job up to worker_ttl - 15 s
# (405 s by default): a worker with nothing to do would never take a dead scheduler's place.
WORKER_TTL = MAINTENANCE_INTERVAL + 15
# RQ's scheduler refreshes its lock to 61 s every second; a lock not refreshed for this long is a dead
# scheduler's (SIGKILL, a lost machine), which RQ would otherwise leave in place for the rest of the minute.
STALE_LOCK_SECONDS = 10


def break_dead_scheduler_locks(line) -> int:
    """Release scheduler locks whose holder stopped refreshing them; the next maintenance takes them."""
    from rq.scheduler import RQScheduler
    from rq.scripts import release_lock

    broken = 0
    ttl_full = 1 + 60  # RQScheduler's interval + 60
    for name in bootstrap.QUEUES:
        key = RQScheduler.get_locking_key(name)
        owner = line.redis.get(key)
        if owner is None:
            continue
        ttl = line.redis.ttl(key)
        if 0 <= ttl <= ttl_full - STALE_LOCK_SECONDS and release_lock(line.redis, key, owner.decode()):
            log.warning("scheduler lock for %s not refreshed for %d s: its holder is dead; released",
                        name, ttl_full - ttl)
            broken += 1
    return broken


def _sweeper(stop: threading.Event, line) -> None:
    while not stop.wait(SWEEP_EVERY):
        try:
            break_dead_scheduler_locks(line)
            jobs.schedule_heartbeat()
            jobs.sweep()
            pacing.kick(line)  # a bulk chain lost to a crash or a Redis restart resumes
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
    break_dead_scheduler_locks(line)
    jobs.schedule_heartbeat(line)
    n = jobs.sweep(direct=True)
    if n:
        log.info("ran or re-armed %d timers at start", n)


ROLE_ENV = "SMSLINE_WORKER_ROLE"
# The alarms worker alone works the high queue; the general one does everything else.
ROLES = {"alarms": (bootstrap.HIGH,), "general": (bootstrap.SEND, bootstrap.DEFAULT, bootstrap.BULK)}


def _general_child(stop: threading.Event) -> None:
    """Keep the general worker running beside this one; it stops when asked to, with us."""
    import subprocess

    env = dict(os.environ, **{ROLE_ENV: "general"})
    while not stop.is_set():
        child = subprocess.Popen([sys.executable, os.path.abspath(__file__)], env=env)
        _children.append(child)
        code = child.wait()
        if not stop.is_set():
            log.warning("general worker exited (%s); starting it again", code)
            time.sleep(1)


_children: list = []


def _forward(signum, frame) -> None:
    for child in _children:
        if child.poll() is None:
            child.send_signal(signum)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    role = os.environ.get(ROLE_ENV, "alarms")
    settings = config.from_env()
    # Every process may use all of SMSLINE_SEND_CONCURRENCY: each request holds a lease in Redis
    # (smsline.sender), so all the workers on one Redis together never have more in flight.
    line = bootstrap.build(settings)
    warm = getattr(line.transport, "warm_up", None)
    if warm:
        warm()  # open the sending loop now, not in the middle of the first alarm
    _start(line)
    stop = threading.Event()
    if role == "alarms":
        threading.Thread(target=_sweeper, args=(stop, line), daemon=True, name="sweep").start()
        threading.Thread(target=_general_child, args=(stop,), daemon=True, name="general").start()
    queues = [line.queues[name] for name in ROLES[role]]

    def new_worker() -> SimpleWorker:
        # SimpleWorker runs jobs in this process: no fork per job, so alerts go out in milliseconds.
        return SimpleWorker(queues, connection=line.redis, maintenance_interval=MAINTENANCE_INTERVAL,
                            worker_ttl=WORKER_TTL)

    worker, pause = new_worker(), 1.0
    try:
        while True:
            began = time.monotonic()
            try:
                if role == "alarms":
                    _hook_signals(worker)
                worker.work(with_scheduler=True, logging_level="WARNING")
            except (ConnectionError, TimeoutError) as e:
                log.warning("lost Redis (%s)", type(e).__name__)
            # RQ's loop also ends, without raising, when Redis fails under a running job: only a
            # stop request (SIGTERM, SIGINT) ends the process; anything else starts the loop again.
            if worker._shutdown_requested_date is not None or getattr(worker, "_stop_requested", False):
                return 0
            pause = 1.0 if time.monotonic() - began > 60 else min(pause * 2, 30.0)
            log.warning("worker loop ended without a stop request; starting again in %.0f s", pause)
            signal.signal(signal.SIGTERM, _exit_now)
            signal.signal(signal.SIGINT, _exit_now)
            time.sleep(pause)
            _start(line)
            worker = new_worker()
    finally:
        stop.set()
        jobs.wait_deliveries()
        for child in _children:
            if child.poll() is None:
                child.terminate()
        for child in _children:
            try:
                child.wait(timeout=30)
            except Exception:
                child.kill()


def _hook_signals(worker) -> None:
    """RQ installs its own SIGTERM/SIGINT handlers when work() starts: wrap them to reach the child too."""
    original = worker._install_signal_handlers

    def install():
        original()
        for sig in (signal.SIGTERM, signal.SIGINT):
            rq_handler = signal.getsignal(sig)
            signal.signal(sig, lambda signum, frame, h=rq_handler: (_forward(signum, frame), h(signum, frame)
                                                                     if callable(h) else None))

    worker._install_signal_handlers = install


def _exit_now(signum, frame) -> None:
    """A stop request while reconnecting: no job is running, so stop at once."""
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
