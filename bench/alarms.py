#!/usr/bin/env python
"""Alarms on time at scale (issues 7 and 13): N timers fall due; how late are the buddy alerts?

The headline workload (issue 13, the defaults): the N STARTs come through signed /sms webhooks from 16
clients as fast as they go, so the timers fall due spread over the time that wave took, and the stand-in
answers each send after 150 ms and posts signed status callbacks (sent, then delivered) to the line's
/sms/status about 200 ms after each text it accepts, as Twilio does. `--start inprocess` is the second
row: every START at one instant. Also:

    .venv/bin/python bench/alarms.py                         # N = 300, 1000, 5000 through the webhook
    .venv/bin/python bench/alarms.py --n 5000 --workers 2    # two worker processes share the wave
    .venv/bin/python bench/alarms.py --trickle 60            # one START every 20 ms for 60 s (3,000 timers)
    .venv/bin/python bench/alarms.py --broadcast 1000        # lone alarms while a 1,000-member BROADCAST sends
    .venv/bin/python bench/alarms.py --n 1000 --start inprocess

Each run prints, besides the lags, requests in flight at the stand-in and sends per 250 ms from the
first due (with the alerts due and still waiting), and sends/s while more alerts waited than may be in
flight, against 0.8 x SMSLINE_SEND_CONCURRENCY / latency.

For each N (default 300,1000,5000) this starts a whole line (embedded Redis, the
Procfile's web and worker, a Twilio stand-in that answers each send after
--delay seconds; SMSLINE_SEND_CONCURRENCY left at its default, 100), then:

1. enrols N members, each with one confirmed buddy, by the four texts a real
   network uses (organizer ADD, member JOIN, member BUDDY, buddy YES): signed
   webhooks to /sms from 16 concurrent clients (--enroll webhook), or the app's
   own service layer called in-process against the same Redis (--enroll
   inprocess: smsline.service.handle_inbound, the code /sms runs). The default,
   auto, uses webhooks up to N=1000 and the service layer above. An organizer
   may invite ten people a day, so the line gets ceil(N/10) organizers. The
   stand-in answers at once during enrolment, and --enroll-workers extra worker
   processes help send the invitations; they are stopped before measuring.
2. records Redis's used_memory, then makes all N members text `START <minutes>`
   through signed webhooks from 16 clients (--start webhook, the default: the
   ends spread over the time the wave takes), or at the same instant:
   handle_inbound in-process from 16 threads, every call given the same `now`,
   so all N timers end at the same moment (--start inprocess). <minutes> is 10, or more when the wave
   needs longer; SMSLINE_REMINDER_MINUTES is set to it so that no reminder
   falls in the measured part (only the time-up texts and the alerts do).
3. records used_memory again while all N timers run (before any fires), and
   reads each timer's ends_at from Redis: due = ends_at + grace * spm.
4. with the stand-in now answering after --delay seconds, waits until every
   buddy's alert has reached it, or --timeout seconds past due.

Reported per N: alert lag (arrival at the stand-in - due) p50/p99/max, missing
(no alert within the timeout), early (arrival < due), duplicates (a buddy
alerted more than once in the round), the stand-in's most requests in flight,
how long the batch took (due to last alert), Redis bytes per running timer
(used_memory delta / N: everything the line keeps, records and jobs), Redis
commands per START and per timer fired (INFO commandstats), the time enrolment
and the START wave took, and the machine's load average during the run (the
machine may be shared: --max-load waits for it to settle first).

Repeats are pushed out of the window (SMSLINE_REALERT_MINUTES=--realert, 1000
by default) so that only the first round is measured; organizers would
otherwise be alerted too from the second round on.

    .venv/bin/python bench/alarms.py                      # N = 100, 1000, 5000
    .venv/bin/python bench/alarms.py --n 1000 --profile /tmp/prof
    .venv/bin/python bench/alarms.py --n 1000 --tree /tmp/smsline-9481874   # an older commit, exported

--profile DIR runs `py-spy record --idle --threads --subprocesses` on the worker
(and RQ's scheduler, its child) from the START wave to --profile-seconds past
due during the N=--profile-n run (1000), writes DIR/worker-N.txt (collapsed
stacks, for flamegraph.pl or speedscope) and prints, per thread, where the
wall-clock time went: Redis round trips, HTTP waits to Twilio, Python CPU, idle.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import redis as redis_lib  # noqa: E402

from common import (LoadSampler, cpu_snapshot, cpu_used, harness, line_kwargs, log, machine,  # noqa: E402
                    percentile, revision, stop_cleanly_on_sigterm, use_tree, wait_for_quiet_machine)

GOAL = {"p99": 2.0, "max": 3.0, "bytes_per_timer": 2048}
INVITES_PER_ORGANIZER = 10  # smsline.handlers.people.INVITES_PER_DAY: an organizer may ADD ten a day


# Numbers ---------------------------------------------------------------------

def organizer_number(i: int) -> str:
    return f"+1415555{i:04d}"


def member_number(i: int) -> str:
    return f"+1646{2000000 + i:07d}"


def buddy_number(i: int) -> str:
    return f"+1310{2000000 + i:07d}"


# Driving the line ------------------------------------------------------------

class InProcess:
    """The app's own service layer, wired like the Procfile's processes, on the line's Redis."""

    def __init__(self, line):
        from smsline import bootstrap, config

        self.settings = config.from_env(dict(line.env))
        self.app_line = bootstrap.build(self.settings)
        try:
            from smsline.handlers.inbound import handle_inbound
        except ImportError:  # a tree from before the handlers package (--tree)
            from smsline.service import handle_inbound

        self._handle = handle_inbound

    def text(self, number: str, body: str, now: float | None = None) -> list[str]:
        return self._handle(self.app_line, number, body, now=now)


def webhook_text(line, number: str, body: str) -> str:
    status, twiml = line.text(number, body)
    if status != 200:
        raise RuntimeError(f"/sms answered {status} to {body.split()[0]}: {twiml[:200]}")
    return twiml


def enroll(line, n: int, how: str, clients: int, inproc: InProcess | None) -> tuple[float, int]:
    """Enrol n members, each with one confirmed buddy. Returns (seconds, failures)."""

    def say(number: str, body: str) -> str:
        if how == "webhook":
            return webhook_text(line, number, body)
        return " | ".join(inproc.text(number, body))

    def one(i: int) -> bool:
        m, b = member_number(i), buddy_number(i)
        org = organizer_number(i // INVITES_PER_ORGANIZER)
        say(org, f"ADD {m} Rose{i}")
        say(m, "JOIN")
        say(m, f"BUDDY {b} Sam{i}")
        reply = say(b, "YES")
        return "Rose" in reply or "alert" in reply.lower()

    t0 = time.monotonic()
    failures = 0
    done = 0
    last = t0
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        for ok in pool.map(one, range(n)):
            done += 1
            failures += not ok
            if time.monotonic() - last > 5:
                last = time.monotonic()
                log(f"  enrolled {done}/{n} ({done / (last - t0):.0f} members/s)")
    return time.monotonic() - t0, failures


def wait_quiet(twilio, expect_at_least: int, quiet: float = 1.5, timeout: float = 600) -> int:
    """Wait until the stand-in has at least `expect_at_least` messages and nothing new for `quiet` s."""
    deadline = time.monotonic() + timeout
    last_n, last_change = -1, time.monotonic()
    last_print = time.monotonic()
    while time.monotonic() < deadline:
        n = len(twilio.messages())
        if n != last_n:
            last_n, last_change = n, time.monotonic()
        elif n >= expect_at_least and time.monotonic() - last_change >= quiet:
            return n
        if time.monotonic() - last_print > 10:
            last_print = time.monotonic()
            log(f"  waiting for enrolment texts to drain: {n}/{expect_at_least} at the stand-in")
        time.sleep(0.2)
    return last_n


def used_memory(r) -> int:
    return int(r.info("memory")["used_memory"])


def start_wave(line, n: int, minutes: int, how: str, clients: int, inproc: InProcess,
               every: float = 0.0) -> tuple[float, float, int]:
    """All n members text START (as fast as `clients` go, or one every `every` seconds: a trickle).

    Returns (wave start, wave seconds, replies that were not a confirmation)."""
    body = f"START {minutes}"
    t0 = time.time()

    def one(i: int) -> bool:
        if every:
            pause = t0 + i * every - time.time()
            if pause > 0:
                time.sleep(pause)
        if how == "webhook":
            reply = webhook_text(line, member_number(i), body)
        else:
            reply = " | ".join(inproc.text(member_number(i), body, now=t0))
        return "until" in reply and "no confirmed buddy" not in reply

    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        bad = sum(not ok for ok in pool.map(one, range(n)))
    return t0, time.time() - t0, bad


def read_dues(line, n: int, grace_s: float) -> list[float]:
    """due = ends_at + grace for each member, read from the line's timer records."""
    from smsline.store import Store

    r = redis_lib.Redis.from_url(line.redis.url)
    store = Store(r, harness().TEST_SECRET_KEY)
    dues = []
    for i in range(n):
        t = store.timer(store.pid_for(member_number(i)))
        dues.append(t.ends_at + grace_s if t is not None else float("nan"))
    r.close()
    return dues


# Profiling -------------------------------------------------------------------

def worker_pid(line) -> int:
    """The worker's Python process (the Procfile command runs under bash -c, which may or may not exec)."""
    proc = next(p for p in line.procs if p.name == "worker")
    pid = proc.pid
    for _ in range(3):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            return pid
        if any(part.endswith(b"worker.py") for part in cmd):
            return pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
        except OSError:
            return pid
        if not kids:
            return pid
        pid = int(kids[0])
    return pid


def start_profile(line, out_dir: str, n: int, seconds: float):
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        log("  py-spy not found: pip install py-spy (into the venv) to profile")
        return None
    os.makedirs(out_dir, exist_ok=True)
    pid = worker_pid(line)
    raw = os.path.join(out_dir, f"worker-{n}.txt")
    cmd = [spy, "record", "--pid", str(pid), "--subprocesses", "--idle", "--threads", "--rate", "100",
           "--duration", str(int(seconds)), "--format", "raw", "--output", raw, "--nonblocking"]
    log(f"  profiling worker pid {pid} for {int(seconds)} s: {' '.join(cmd[1:])}")
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), raw, spy, pid


def finish_profile(handle, timeout: float = 60) -> None:
    if handle is None:
        return
    popen, raw, spy, pid = handle
    try:
        popen.wait(timeout)
    except subprocess.TimeoutExpired:
        popen.send_signal(2)
        popen.wait(10)
    if not os.path.exists(raw):
        log(f"  py-spy wrote nothing: {popen.stderr.read().decode(errors='replace')[-500:]}")
        return
    summarize_profile(raw)


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)".
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


# What a worker thread was doing, judged from the innermost frame that names it.
ACTIVITIES = [
    ("_send_many", "Twilio sends (HTTP, 150 ms each)"),
    ("TwilioTransport.send", "Twilio sends (HTTP, 150 ms each)"),
    ("escalate", "hand-on of failed alerts"),
    ("deliver", "alert rounds: claim/mark/render (Redis)"),
    ("deliver_round", "alert rounds: claim/mark/render (Redis)"),
    ("timer_event", "timer steps: transaction + queued texts (Redis)"),
    ("_step_one", "timer steps: transaction + queued texts (Redis)"),
    ("tick", "timer steps: transaction + queued texts (Redis)"),
    ("step_due.<locals>.<listcomp>", "waiting for the step threads"),
    ("step_due", "timer steps: reading what is due (Redis)"),
    ("run_due", "due job: waiting for the next second"),
    ("send_texts", "member texts job: claims (Redis)"),
    ("resume_rounds", "sweep"),
    ("sweep", "sweep"),
    ("_sweeper", "sweep"),
    ("PubSubWorkerThread.run", "RQ pubsub listener (blocks on Redis: idle)"),
    ("heartbeat", "heartbeat job"),
    ("RQScheduler", "RQ scheduler (moves due jobs; sleeps 1 s)"),
    ("BaseWorker.dequeue_job_and_maintain_ttl", "RQ: waiting for / dequeuing jobs"),
    ("BaseWorker.perform_job", "RQ: per-job bookkeeping"),
    ("SimpleWorker.execute_job", "RQ: per-job bookkeeping"),
    ("BaseWorker.work", "RQ: worker loop (maintenance, heartbeats)"),
]


def _activity(names: list[str]) -> str:
    for name in reversed(names):  # innermost first
        for key, label in ACTIVITIES:
            if name == key or (key.startswith("RQScheduler") and name.startswith(key)):
                return label
    return "other"


def _state(names: list[str], files: list[str]) -> str:
    leaf = names[-1] if names else ""
    if any(n.startswith("PubSub") for n in names):
        return "idle"
    if any("redis/" in f for f in files[-12:]) and any(k in leaf for k in ("socket", "read", "send", "recv")):
        return "Redis round trip"
    if any(("http/client" in f or "urllib3" in f or "http.client" in f) for f in files[-12:]):
        return "HTTP wait"
    if leaf.split(".")[-1] in ("wait", "sleep", "select", "poll", "acquire", "_wait_for_tstate_lock") \
            or leaf.startswith("RQScheduler") or leaf in ("readinto", "SocketIO.readinto"):
        return "idle"
    return "CPU (Python)"


def summarize_profile(raw_path: str) -> str:
    """Wall-clock seconds per thread group, activity and state, from py-spy --idle --threads raw stacks."""
    rate = 100.0
    table = collections.defaultdict(collections.Counter)  # (group, activity) -> state -> samples
    group_total = collections.Counter()
    main_process = None
    with open(raw_path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            count = int(count)
            process, thread = frames[0], frames[1] if len(frames) > 1 else ""
            main_process = main_process or (process if "worker.py" in process else None)
            rest = frames[2:]
            names = [fr.partition(" (")[0] for fr in rest]
            files = [fr.partition(" (")[2] for fr in rest]
            if process != main_process or any(n.startswith("RQScheduler") for n in names):
                group = "RQ scheduler process"
            elif "MainThread" in thread:
                group = "main thread (runs the RQ jobs)"
            elif "sweep" in thread:
                group = "sweep thread"
            elif any("_send_many" in n for n in names):
                group = "send pool threads"
            elif any("step_due" in n for n in names):
                group = "step pool threads"
            else:
                group = "other threads"
            act = _activity(names)
            table[(group, act)][_state(names, files)] += count
            group_total[group] += count
    states = ["Redis round trip", "HTTP wait", "CPU (Python)", "idle"]
    out = [f"where the worker's time went ({raw_path}; wall-clock seconds, py-spy --idle at 100 Hz):",
           f"  {'thread group / activity':58s} {'total':>7s} " + " ".join(f"{s[:12]:>12s}" for s in states)]
    for group, total in group_total.most_common():
        if total / rate < 0.5:
            continue
        out.append(f"  {group:58s} {total / rate:7.1f}")
        rows = [(act, c) for (g, act), c in table.items() if g == group]
        rows.sort(key=lambda x: -sum(x[1].values()))
        for act, c in rows:
            n = sum(c.values())
            if n / rate < 0.2:
                continue
            out.append(f"    {act:56s} {n / rate:7.1f} " + " ".join(f"{c[s] / rate:12.1f}" for s in states))
    text = "\n".join(out)
    with open(raw_path.rsplit(".", 1)[0] + "-summary.txt", "w") as f:
        f.write(text + "\n")
    print(text, flush=True)
    return text


# In flight over time -----------------------------------------------------------

def timeline(spans: list[tuple[float, float]], start: float, end: float, bucket: float = 0.25,
             dues: list[float] = (), arrivals: list[float] = ()) -> list[tuple]:
    """Per bucket from `start` to `end`: (offset, most requests in flight at the stand-in, requests answered,
    alerts due and not yet at the stand-in when the bucket began)."""
    import bisect

    dues, arrivals = sorted(dues), sorted(arrivals)
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    rows, level, k = [], 0, 0
    t = start
    # the level at `start`
    while k < len(events) and events[k][0] < start:
        level += events[k][1]
        k += 1
    while t < end:
        top, answered = level, 0
        while k < len(events) and events[k][0] < t + bucket:
            level += events[k][1]
            top = max(top, level)
            answered += events[k][1] < 0
            k += 1
        backlog = bisect.bisect_right(dues, t) - bisect.bisect_right(arrivals, t)
        rows.append((t - start, top, answered, backlog))
        t += bucket
    return rows


def print_timeline(rows: list[tuple], bucket: float = 0.25) -> str:
    out = [f"  per {bucket * 1000:.0f} ms from just before the first due: offset, most requests in flight, "
           f"answers per s, alerts due and waiting"]
    line = []
    for off, top, answered, backlog in rows:
        line.append(f"{off:5.2f}s {top:3d} {answered / bucket:4.0f}/s {backlog:4d}w")
        if len(line) == 4:
            out.append("    " + " | ".join(line))
            line = []
    if line:
        out.append("    " + " | ".join(line))
    text = "\n".join(out)
    print(text, flush=True)
    return text


# One run ---------------------------------------------------------------------

def warm_up(inproc: InProcess, n: int, clients: int) -> None:
    """Open the in-process client's Redis connections before measuring memory (STATUS writes nothing)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(lambda i: inproc.text(member_number(i), "STATUS"), range(min(n, 4 * clients))))


MEMORY_PARTS = ("used_memory_dataset", "used_memory_overhead", "mem_clients_normal", "mem_aof_buffer")


def memory(r, samples: int = 5, gap: float = 0.2) -> tuple[int, int, int, dict, int]:
    """used_memory, used_memory_dataset, keys, the INFO of the median sample, and the samples' spread.

    used_memory moves by up to a few hundred KB within seconds with no key added
    or removed (Redis's own bookkeeping), so a few samples are taken and the
    median kept; the spread tells the noise floor."""
    infos = []
    for k in range(samples):
        if k:
            time.sleep(gap)
        infos.append(r.info("memory"))
    infos.sort(key=lambda i: int(i["used_memory"]))
    info = infos[len(infos) // 2]
    spread = int(infos[-1]["used_memory"]) - int(infos[0]["used_memory"])
    return int(info["used_memory"]), int(info["used_memory_dataset"]), r.dbsize(), info, spread


def commands(r) -> collections.Counter:
    """Redis commands served so far, by name (INFO commandstats)."""
    return collections.Counter({k.split("_", 1)[1]: v["calls"] for k, v in r.info("commandstats").items()})


def top_commands(delta: collections.Counter, n: int, k: int = 6) -> str:
    return ", ".join(f"{name} {c / n:.1f}" for name, c in delta.most_common(k))


def run(n: int, args, tree: str) -> dict:
    procs = harness()
    spm = args.spm
    grace_s = args.grace * spm
    # Every START lands at the same instant `now`, so the wave must be over before the timers end.
    every = args.every if args.trickle else 0.0
    if args.trickle:
        n = int(round(args.trickle / args.every))
    # Each START's timer is the same length: the dues spread like the STARTs (a trickle spreads them over its
    # minute; a wave as fast as the webhook goes, over the wave), so the wave must be over before the first ends.
    minutes = args.minutes or (10 if args.trickle else max(10, math.ceil((0.01 * n + 3) / spm)))
    organizers = [organizer_number(i) for i in range(math.ceil(n / INVITES_PER_ORGANIZER))]
    env = {
        "SMSLINE_GRACE_MINUTES": str(args.grace),
        "SMSLINE_REALERT_MINUTES": str(args.realert),
        # A timer no longer than the reminder period gets no reminder: only time-up and alerts are measured.
        "SMSLINE_REMINDER_MINUTES": str(max(10, minutes)),
        "SMSLINE_SEND_CONCURRENCY": None if args.concurrency is None else str(args.concurrency),
    }
    load_before = wait_for_quiet_machine(args.max_load, args.max_load_wait)
    how_enroll = args.enroll if args.enroll != "auto" else ("webhook" if n <= 1000 else "inprocess")
    log(f"N={n}: starting a line from {tree} ({revision(tree)}); spm {spm}, {len(organizers)} organizers, "
        f"load {load_before:.1f}")
    t_run = time.monotonic()
    with procs.running_line(seconds_per_minute=spm, organizers=organizers, env=env, **line_kwargs(tree)) as line:
        twilio = line.twilio
        twilio.delay = 0.0
        # Like Twilio, the stand-in posts signed status callbacks (sent, then delivered) for every text.
        twilio.status_callbacks = args.callbacks == "on"
        inproc = InProcess(line)
        r = line.redis_client()

        extra = [line.start_worker() for _ in range(args.enroll_workers)]
        log(f"N={n}: enrolling {n} members with a buddy each ({how_enroll}, {args.clients} clients, "
            f"{len(extra)} extra workers for the invitations)")
        enroll_s, enroll_bad = enroll(line, n, how_enroll, args.clients, inproc)
        log(f"N={n}: enrolled in {enroll_s:.1f} s ({4 * n / enroll_s:.0f} texts/s); "
            f"{enroll_bad} unexpected YES replies")
        drained = wait_quiet(twilio, 3 * n)
        log(f"N={n}: enrolment texts drained ({drained} at the stand-in)")
        for w in extra:
            line.kill_worker(signal.SIGTERM, worker=w)
        more = [line.start_worker() for _ in range(args.workers - 1)]  # worker processes that share the wave
        if more:
            time.sleep(3.0)  # started and registered before the wave
        warm_up(inproc, n, args.clients)
        time.sleep(1.0)

        twilio.clear()
        twilio.delay = args.delay
        mem_before, data_before, keys_before, info_before, noise = memory(r)
        cmds_0 = commands(r)

        log(f"N={n}: START {minutes} from all {n} members ({args.start})")
        with LoadSampler() as load:
            wave_t0, wave_s, wave_bad = start_wave(line, n, minutes, args.start, args.clients, inproc, every)
            ends_at_nominal = wave_t0 + minutes * spm
            mem_running, data_running, keys_running, info_running, _ = memory(r)
            cmds_1 = commands(r)
            left = ends_at_nominal - time.time()
            log(f"N={n}: Redis memory while all timers run: used_memory +{mem_running - mem_before} bytes "
                f"({(mem_running - mem_before) / n:.0f} per timer; "
                + ", ".join(f"{k} {int(info_running[k]) - int(info_before[k]):+d}" for k in MEMORY_PARTS)
                + f"), keys +{keys_running - keys_before}; noise: used_memory moved {noise} bytes "
                f"over 1 s before the wave ({noise / n:.0f} per timer)")
            log(f"N={n}: wave took {wave_s:.2f} s ({wave_bad} replies not a plain confirmation); "
                f"timers end in {left:.1f} s")
            if left <= 0 and not args.trickle:
                log(f"N={n}: WARNING: the wave outlasted the timers; memory was measured after some fired. "
                    f"Raise --minutes or --spm.")
            dues = read_dues(line, n, grace_s)
            cmds_1b = commands(r)  # the bench's own reads of ends_at are not the line's
            first_due, last_due = min(dues), max(dues)

            prof = None
            if args.profile and n == args.profile_n:
                seconds = min(args.timeout, args.profile_seconds) + (first_due - time.time()) + 2
                prof = start_profile(line, args.profile, n, max(10, seconds))

            # Wait for the buddy alerts.
            buddies = {buddy_number(i): i for i in range(n)}
            arrival: dict[int, float] = {}
            counts = collections.Counter()
            deadline = last_due + args.timeout
            seen = 0
            last_print = 0.0
            cpu_at_due = cpu_at_end = None
            while True:
                msgs = twilio.messages()
                for m in msgs[seen:]:
                    i = buddies.get(m.to)
                    if i is not None:
                        counts[i] += 1
                        arrival.setdefault(i, m.time)
                seen = len(msgs)
                now = time.time()
                if cpu_at_due is None and now >= first_due - 0.1:
                    cpu_at_due, cpu_t0 = cpu_snapshot(), now
                if len(arrival) >= n or now > deadline:
                    if cpu_at_due is not None:
                        cpu_at_end, cpu_t1 = cpu_snapshot(), now
                    break
                if now - last_print >= 5:
                    last_print = now
                    since = now - first_due
                    log(f"  {len(arrival)}/{n} buddy alerts at the stand-in; {len(msgs)} texts in all; "
                        + (f"{since:.0f} s past due" if since >= 0 else f"due in {-since:.1f} s")
                        + f"; most in flight {twilio.max_in_flight}; load {load.samples[-1]:.1f}")
                time.sleep(0.05 if now > first_due - 1 else 0.5)
            # Anything still arriving (duplicates) in a short grace period.
            time.sleep(1.0)
            for m in twilio.messages()[seen:]:
                i = buddies.get(m.to)
                if i is not None:
                    counts[i] += 1
                    arrival.setdefault(i, m.time)

        if cpu_at_end is not None:
            log(f"N={n}: CPU seconds per process from due to the last alert ({cpu_t1 - cpu_t0:.2f} s, "
                f"{os.cpu_count()} CPUs): " + "; ".join(f"{cmd} {secs:.2f}" for cmd, secs in cpu_used(cpu_at_due, cpu_at_end)))
        if args.show_log:
            # The worker's own account of the wave: when it stepped the batch and handed alerts on.
            for proc in line.procs:
                if proc.name == "worker":
                    with open(proc.log_path, errors="replace") as f:
                        for text in f:
                            if "stepped" in text or "handed" in text:
                                log("  worker: " + text.rstrip()[:200])
        cmds_2 = commands(r)
        start_cmds, fire_cmds = cmds_1 - cmds_0, cmds_2 - cmds_1b
        log(f"N={n}: Redis commands per START {sum(start_cmds.values()) / n:.1f} ({top_commands(start_cmds, n)}); "
            f"per timer from START to its alert {sum(fire_cmds.values()) / n:.1f} ({top_commands(fire_cmds, n)})")
        lags = [arrival[i] - dues[i] for i in arrival]
        all_msgs = twilio.messages()
        concurrency = args.concurrency or 100
        last_alert = max(arrival.values()) if arrival else first_due
        rows = timeline(list(twilio.spans), first_due - 0.25, last_alert + 0.25, dues=dues,
                        arrivals=list(arrival.values()))
        print_timeline(rows)
        # Sends per second while more alerts waited than may be in flight (the sender should be saturated).
        busy = [r for r in rows if r[3] >= concurrency]
        wave_rate = (sum(r[2] for r in busy) / (0.25 * len(busy))) if busy else float("nan")
        busy_flight = (sum(r[1] for r in busy) / len(busy)) if busy else float("nan")
        bound = 0.8 * concurrency / args.delay if args.delay else float("nan")
        log(f"N={n}: while more than {concurrency} alerts waited ({0.25 * len(busy):.2f} s): {wave_rate:.0f} "
            f"sends/s against 0.8 x {concurrency} / {args.delay} s = {bound:.0f}/s, {busy_flight:.0f} in flight "
            f"on average (bucket peaks); most in flight {twilio.max_in_flight} "
            f"(bound {concurrency}); {twilio.callbacks_posted} status callbacks posted, "
            f"{twilio.callbacks_failed} refused")
        result = {
            "n": n,
            "revision": revision(tree),
            "p50": percentile(lags, 50),
            "p99": percentile(lags, 99),
            "max": max(lags) if lags else float("nan"),
            "missing": n - len(arrival),
            "early": sum(1 for x in lags if x < 0),
            "duplicates": sum(c - 1 for c in counts.values() if c > 1),
            "max_in_flight": twilio.max_in_flight,
            "wave_sends_per_s": wave_rate,
            "saturated_s": 0.25 * len(busy),
            "saturated_in_flight": busy_flight,
            "sends_bound_per_s": bound,
            "timeline": rows,
            "workers": args.workers,
            "callbacks": args.callbacks,
            "trickle_s": args.trickle,
            "batch_s": (max(arrival.values()) - first_due) if arrival else float("nan"),
            "due_spread_s": last_due - first_due,
            "texts": len(all_msgs),
            "bytes_per_timer": (mem_running - mem_before) / n,
            "dataset_bytes_per_timer": (data_running - data_before) / n,
            "memory_noise_bytes": noise,
            "keys_per_timer": (keys_running - keys_before) / n,
            "redis_cmds_per_start": sum(start_cmds.values()) / n,
            "redis_cmds_per_timer_fired": sum(fire_cmds.values()) / n,
            "redis_top_commands_fired": top_commands(fire_cmds, n, 10),
            "enroll_s": enroll_s,
            "wave_s": wave_s,
            "minutes": minutes,
            "timeout_s": args.timeout,
            "enroll": how_enroll,
            "start": args.start,
            "spm": spm,
            "delay": args.delay,
            "load_before": load_before,
            "load_mean": load.mean,
            "load_peak": load.peak,
        }
        log(f"N={n}: {len(arrival)}/{n} alerts; p50 {result['p50']:.2f} s, p99 {result['p99']:.2f} s, "
            f"max {result['max']:.2f} s; {result['missing']} missing, {result['early']} early; "
            f"{result['texts']} texts in all; load {load.mean:.1f} mean, {load.peak:.1f} peak")
        finish_profile(prof)
        r.close()
    result["run_s"] = time.monotonic() - t_run
    return result


def run_broadcast(args, tree: str) -> dict:
    """Lone alarms while a broadcast to every member is being sent: how late are they?

    Enrols --broadcast members (as `run` does), then --lone members text START, one every --lone-gap
    seconds, and a second later an organizer texts BROADCAST: the bulk queue hands its texts to the
    stand-in at SMSLINE_SEND_RATE (--bulk-rate) while the lone timers fall due.
    """
    procs = harness()
    n, k = args.broadcast, args.lone
    spm = args.spm
    grace_s = args.grace * spm
    minutes = 10
    organizers = [organizer_number(i) for i in range(math.ceil(n / INVITES_PER_ORGANIZER))]
    env = {
        "SMSLINE_GRACE_MINUTES": str(args.grace),
        "SMSLINE_REALERT_MINUTES": str(args.realert),
        "SMSLINE_REMINDER_MINUTES": str(minutes),
        "SMSLINE_SEND_RATE": str(args.bulk_rate),
        "SMSLINE_SEND_CONCURRENCY": None if args.concurrency is None else str(args.concurrency),
    }
    load_before = wait_for_quiet_machine(args.max_load, args.max_load_wait)
    how_enroll = args.enroll if args.enroll != "auto" else ("webhook" if n <= 1000 else "inprocess")
    with procs.running_line(seconds_per_minute=spm, organizers=organizers, env=env, **line_kwargs(tree)) as line:
        twilio = line.twilio
        twilio.delay = 0.0
        twilio.status_callbacks = args.callbacks == "on"
        inproc = InProcess(line)
        extra = [line.start_worker() for _ in range(args.enroll_workers)]
        log(f"broadcast: enrolling {n} members ({how_enroll})")
        enroll(line, n, how_enroll, args.clients, inproc)
        wait_quiet(twilio, 3 * n)
        for w in extra:
            line.kill_worker(signal.SIGTERM, worker=w)
        time.sleep(1.0)
        twilio.clear()
        twilio.delay = args.delay
        members = {member_number(i) for i in range(n)}
        with LoadSampler() as load:
            t0 = time.time()
            for i in range(k):
                webhook_text(line, member_number(i), f"START {minutes}")
                time.sleep(args.lone_gap)
            reply = webhook_text(line, organizer_number(0), "BROADCAST Careful near the old mill tonight.")
            log(f"broadcast: organizer told: {reply[:160]!r}")
            dues = read_dues(line, k, grace_s)
            buddies = {buddy_number(i): i for i in range(k)}
            arrival: dict[int, float] = {}
            counts = collections.Counter()
            deadline = max(dues) + args.timeout
            while len(arrival) < k and time.time() < deadline:
                time.sleep(0.05)
                for m in twilio.messages():
                    i = buddies.get(m.to)
                    if i is not None and "Rose" in m.body:
                        arrival.setdefault(i, m.time)
            time.sleep(1.0)
            msgs = twilio.messages()
            for m in msgs:
                i = buddies.get(m.to)
                if i is not None and "Rose" in m.body:
                    counts[i] += 1
            bulk_by_due = [sum(1 for m in msgs if m.to in members and "old mill" in m.body and m.time <= d)
                           for d in dues]
            bulk_total = sum(1 for m in msgs if m.to in members and "old mill" in m.body)
        lags = [arrival[i] - dues[i] for i in arrival]
        result = {
            "scenario": "broadcast", "n": n, "lone": k, "revision": revision(tree),
            "lags": lags, "max": max(lags) if lags else float("nan"),
            "missing": k - len(arrival), "early": sum(1 for x in lags if x < 0),
            "duplicates": sum(c - 1 for c in counts.values() if c > 1),
            "bulk_sent_by_each_due": bulk_by_due, "bulk_sent": bulk_total, "bulk_rate": args.bulk_rate,
            "max_in_flight": twilio.max_in_flight, "load_before": load_before, "load_mean": load.mean,
            "load_peak": load.peak, "started": t0,
        }
        log(f"broadcast: {len(arrival)}/{k} lone alarms; lags " + ", ".join(f"{x:.2f}" for x in lags)
            + f" s (max {result['max']:.2f} s); {result['missing']} missing, {result['early']} early, "
            f"{result['duplicates']} doubled; broadcast texts at the stand-in by each due: {bulk_by_due} "
            f"({bulk_total} by the end, rate {args.bulk_rate}/s); most in flight {twilio.max_in_flight}; "
            f"load {load.mean:.1f} mean")
        log(f"broadcast: lone alarm <= 1 s late: {'yes' if lags and result['max'] <= 1.0 and not result['missing'] else 'NO'}")
    return result


def table(results: list[dict]) -> str:
    head = ("| N | start | workers | p50 (s) | p99 (s) | max (s) | missing | early | dup | most in flight "
            "| wave sends/s | batch (s) "
            "| bytes/timer | keys/timer | Redis cmds/timer | enrol (s) | START wave (s) | load mean/peak | revision |")
    rows = [head, "|" + "---|" * 19]
    for x in results:
        start = f"trickle {x['trickle_s']:.0f} s" if x.get("trickle_s") else x["start"]
        rows.append(
            f"| {x['n']} | {start} | {x.get('workers', 1)} | {x['p50']:.2f} | {x['p99']:.2f} | {x['max']:.2f} | {x['missing']} | {x['early']} "
            f"| {x['duplicates']} | {x['max_in_flight']} | {x.get('wave_sends_per_s', float('nan')):.0f} "
            f"| {x['batch_s']:.1f} "
            f"| {x['bytes_per_timer']:.0f} ±{x.get('memory_noise_bytes', 0) / x['n']:.0f} "
            f"| {x['keys_per_timer']:.2f} | {x['redis_cmds_per_timer_fired']:.0f} "
            f"| {x['enroll_s']:.0f} ({x['enroll'][:3]}) | {x['wave_s']:.2f} "
            f"| {x['load_mean']:.1f}/{x['load_peak']:.1f} | {x['revision']} |")
    return "\n".join(rows)


def verdict(x: dict) -> str:
    if x.get("trickle_s"):
        goals = [("p99 <= 1 s", x["p99"] <= 1.0)]
    elif x["n"] >= 5000:
        goals = [("p99 <= 3 s", x["p99"] <= 3.0)]
    else:
        goals = [("p99 <= 2 s", x["p99"] <= GOAL["p99"]), ("max <= 3 s", x["max"] <= GOAL["max"])]
    checks = goals + [
        ("no duplicates", x["duplicates"] == 0),
        ("none missing", x["missing"] == 0),
        ("none early", x["early"] == 0),
        ("<= 2 KB/timer", x["bytes_per_timer"] <= GOAL["bytes_per_timer"]),
    ]
    return ", ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in checks)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", default="300,1000,5000", help="members (comma-separated list): default 300,1000,5000")
    p.add_argument("--delay", type=float, default=0.15, help="seconds the Twilio stand-in takes per send")
    p.add_argument("--spm", type=float, default=0.5, help="SMSLINE_SECONDS_PER_MINUTE (default 0.5)")
    p.add_argument("--minutes", type=int, default=0,
                   help="the START duration (default: 10, or more when the START wave needs longer)")
    p.add_argument("--grace", type=int, default=5, help="SMSLINE_GRACE_MINUTES (default 5)")
    p.add_argument("--realert", type=int, default=1000, help="SMSLINE_REALERT_MINUTES: repeats out of the window")
    p.add_argument("--concurrency", type=int, default=None, help="SMSLINE_SEND_CONCURRENCY (default: the line's, 100)")
    p.add_argument("--enroll", choices=("auto", "webhook", "inprocess"), default="auto",
                   help="auto: webhooks up to N=1000, the service layer in-process above")
    p.add_argument("--enroll-workers", type=int, default=2,
                   help="extra worker processes while enrolling (they send the invitations), stopped after")
    p.add_argument("--start", choices=("inprocess", "webhook"), default="webhook",
                   help="webhook (default): signed /sms from --clients clients; inprocess: every START at one instant")
    p.add_argument("--callbacks", choices=("on", "off"), default="on",
                   help="the stand-in posts status callbacks (sent, delivered) for every text, as Twilio does")
    p.add_argument("--workers", type=int, default=1, help="worker processes sharing the wave (default 1)")
    p.add_argument("--trickle", type=float, default=0.0, metavar="SECONDS",
                   help="one START every --every seconds for this long (N = SECONDS / every; --n is ignored)")
    p.add_argument("--broadcast", type=int, default=0, metavar="MEMBERS",
                   help="instead: lone alarms while a BROADCAST to this many members is sending")
    p.add_argument("--lone", type=int, default=5, help="lone alarms behind the broadcast (default 5)")
    p.add_argument("--lone-gap", type=float, default=1.0, help="seconds between the lone STARTs")
    p.add_argument("--bulk-rate", type=float, default=100.0,
                   help="SMSLINE_SEND_RATE for the broadcast scenario (segments/s; default 100)")
    p.add_argument("--every", type=float, default=0.02, help="the trickle's gap between STARTs (default 0.02)")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients for enrolment and the START wave")
    p.add_argument("--timeout", type=float, default=240, help="seconds past the last due to wait for alerts")
    p.add_argument("--tree", help="measure this source tree (e.g. an export of an older commit); default: this one")
    p.add_argument("--max-load", type=float, default=None,
                   help="before each run, wait until the 1-minute load average is below this")
    p.add_argument("--max-load-wait", type=float, default=300)
    p.add_argument("--profile", metavar="DIR", help="py-spy the worker during the --profile-n run; output in DIR")
    p.add_argument("--profile-n", type=int, default=1000)
    p.add_argument("--profile-seconds", type=float, default=60, help="seconds past due to keep profiling")
    p.add_argument("--show-log", action="store_true",
                   help="print the worker's log lines about stepping and handing alerts on")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args(argv)
    stop_cleanly_on_sigterm()
    sizes = [int(x) for x in str(args.n).split(",") if x.strip()]
    if args.trickle:
        sizes = [int(round(args.trickle / args.every))]  # one run: N comes from the trickle
    tree = use_tree(args.tree)
    log(f"machine: {machine()}")
    if args.broadcast:
        result = run_broadcast(args, tree)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        return 0

    results = []
    for n in sizes:
        results.append(run(n, args, tree))
        print(table(results), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
    print()
    print(f"alarms: {machine()}; tree {tree} ({revision(tree)})")
    print(f"stand-in delay {args.delay} s, spm {args.spm}, grace {args.grace} min; "
          f"enrolment by {args.enroll} (web = webhooks, inp = service layer in-process), START wave by {args.start}; "
          f"bytes/timer = used_memory delta / N (all the line keeps, records and jobs)")
    print(table(results))
    for x in results:
        print(f"N={x['n']}: {verdict(x)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
