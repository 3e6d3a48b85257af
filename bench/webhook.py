#!/usr/bin/env python
"""Inbound throughput (issue 7): signed texts to /sms from 8 concurrent clients.

Starts the real line (embedded Redis, the Procfile's web and worker, a Twilio
stand-in) and, beside it, bench/bare_app.py: a Flask app that only checks the
signature with twilio's RequestValidator and answers one TwiML message, served
by the Procfile's own gunicorn command with only the app spec swapped. Both get
the same load, in alternating rounds (bare, line, bare, line, ...) so that
whatever else the machine is doing falls on both alike:

- the line: enrolled members text STATUS (half of them with a timer running)
  and HELP, each a fresh MessageSid, so every request is acted on (nothing is
  answered from the repeated-delivery cache);
- the bare app: the same signed forms.

Each client is a thread with one keep-alive connection; each request is signed
as Twilio signs it. Reported: requests/s (completed 200s over the measured
time), p50/p99/max latency, errors, and the ratio line / bare.
Goal (issue 7): ratio >= 0.6 and the line's p99 < 50 ms.

The machine is shared, and both apps are CPU-bound on it, so CPU time per
request is reported too, by process group (the web's gunicorn, the line's Redis
and workers, this benchmark's own client threads, and everything else the
machine did meanwhile, which is other people's work). It waits while another
benchmark (--yield-to, default bench/alarms.py) runs, and runs a round pair
again when one started during it.

Also reported: Redis commands per request on the line (INFO commandstats; the
commands a Lua script runs count one each, the script one more), and
with --profile DIR, where the line's gunicorn spent its py-spy samples during
its first round (Redis round trips, signature check, TwiML, the line's own
Python, Flask, gunicorn; a thread blocked on Redis's answer counts as Redis).

    .venv/bin/python bench/webhook.py
    .venv/bin/python bench/webhook.py --clients 8 --seconds 10 --rounds 3 --profile /tmp/prof
"""
from __future__ import annotations

import argparse
import collections
import http.client
import itertools
import json
import os
import re
import resource
import secrets
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from twilio.request_validator import RequestValidator  # noqa: E402

from common import (LoadSampler, harness, line_kwargs, log, machine, percentile, proc_stats,  # noqa: E402
                    revision, stop_cleanly_on_sigterm, use_tree, wait_for_quiet_machine)

GOAL_RATIO, GOAL_P99 = 0.6, 0.050
# Benchmarks that must not share the machine with this one: both load the 2 CPUs to the full.
OTHER_BENCHES = "bench/alarms.py"
INVITES_PER_ORGANIZER = 10  # an organizer may ADD ten people a day


def organizer_number(i: int) -> str:
    return f"+1415555{i:04d}"


def member_number(i: int) -> str:
    return f"+1646{3000000 + i:07d}"


def buddy_number(i: int) -> str:
    return f"+1310{3000000 + i:07d}"


def bare_procfile(tree: str, workdir: str) -> str:
    """The Procfile's web command with the app spec swapped for bare_app's.

    It runs from bench/, so the tree goes on PYTHONPATH: the Procfile's worker class
    (smsline.server.Worker) serves the bare app too, and both are measured on the same server.
    """
    procs = harness()
    web = procs.procfile_commands(os.path.join(tree, "Procfile"))["web"]
    swapped, n = re.subn(r"""(['"]?)smsline:create_app\(\)\1""", "'bare_app:create_app()'", web)
    if n != 1:
        raise SystemExit(f"cannot find the app spec in the Procfile's web command: {web}")
    path = os.path.join(workdir, "Procfile.bare")
    with open(path, "w") as f:
        f.write(f"web: PYTHONPATH={shlex.quote(tree)} {swapped}\n")
    return path


def wait_up(url: str, timeout: float = 20) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code in (200, 503):
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


class Load:
    """n client threads posting signed forms to url/sms for `seconds`; records latencies."""

    def __init__(self, base_url: str, auth_token: str, account_sid: str, texts: list[tuple[str, str]],
                 clients: int, sign_url: str | None = None):
        self.base = urlsplit(base_url)
        self.sign_url = (sign_url or base_url) + "/sms"
        self.validator = RequestValidator(auth_token)
        self.account_sid = account_sid
        self.texts = texts
        self.clients = clients

    def _form(self, number: str, body: str) -> tuple[bytes, dict]:
        sid = "SM" + secrets.token_hex(16)
        params = {
            "ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
            "Body": body, "FromCountry": "US", "To": "+15005550006", "NumSegments": "1", "MessageSid": sid,
            "AccountSid": self.account_sid, "From": number, "ApiVersion": "2010-04-01",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(self.sign_url, params),
        }
        return urlencode(params).encode(), headers

    def run(self, seconds: float, warmup: float = 1.0) -> dict:
        start_at = time.monotonic() + warmup
        stop_at = start_at + seconds
        lat: list[list[float]] = [[] for _ in range(self.clients)]
        errors = [0] * self.clients
        served = [0] * self.clients
        bad = [""] * self.clients
        cycle = itertools.cycle(range(len(self.texts)))
        lock = threading.Lock()

        def client(k: int) -> None:
            conn = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=20)
            while True:
                with lock:
                    number, body = self.texts[next(cycle)]
                data, headers = self._form(number, body)
                t0 = time.monotonic()
                if t0 >= stop_at:
                    break
                try:
                    conn.request("POST", "/sms", body=data, headers=headers)
                    resp = conn.getresponse()
                    payload = resp.read()
                    ok = resp.status == 200 and b"<Message>" in payload
                except (OSError, http.client.HTTPException) as e:
                    ok, payload = False, repr(e).encode()
                    conn.close()
                    conn = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=20)
                t1 = time.monotonic()
                served[k] += 1
                if t0 >= start_at and t1 <= stop_at:
                    if ok:
                        lat[k].append(t1 - t0)
                    else:
                        errors[k] += 1
                        bad[k] = payload[:200].decode(errors="replace")
            conn.close()

        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        all_lat = [x for per in lat for x in per]
        return {
            "requests": len(all_lat),
            "requests_all": sum(served),
            "seconds": seconds,
            "rps": len(all_lat) / seconds,
            "p50_ms": 1000 * percentile(all_lat, 50),
            "p99_ms": 1000 * percentile(all_lat, 99),
            "max_ms": 1000 * max(all_lat) if all_lat else float("nan"),
            "errors": sum(errors),
            "last_error": next((b for b in bad if b), ""),
            "client_cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
            "_latencies": all_lat,
        }


def _own_lineage() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def others_running(scripts: list[str]) -> list[str]:
    """Command lines of running processes (not this one or its parents) that run one of scripts."""
    if not scripts or not os.path.isdir("/proc"):
        return []
    mine, found = _own_lineage(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(a == s or a.endswith("/" + s) for a in argv for s in scripts):
            found.append(" ".join(argv).strip())
    return found


def wait_for_others(scripts: list[str], max_wait: float) -> None:
    """Wait (up to max_wait s) until none of the other benchmarks runs."""
    deadline = time.monotonic() + max_wait
    running = others_running(scripts)
    if running:
        log(f"waiting up to {max_wait:.0f} s for another benchmark to finish: {running[0][:120]}")
    while running and time.monotonic() < deadline:
        time.sleep(2)
        running = others_running(scripts)
    if running:
        log("another benchmark is still running; going on anyway, its rounds are marked")


class OthersWatch:
    """Polls, during a round pair, whether another benchmark ran at any moment."""

    def __init__(self, scripts: list[str]):
        self.scripts, self.seen = scripts, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="others-watch")

    def _run(self):
        while not self.seen and not self._stop.wait(0.5):
            self.seen = others_running(self.scripts)

    def __enter__(self):
        self.seen = others_running(self.scripts)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)


def _cpu_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and its reaped children) for every process."""
    return {pid: (ppid, own + children) for pid, (ppid, own, children) in proc_stats().items()}


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all CPUs together)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # everything but idle and iowait


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each group of process trees, by this process, and by the machine."""
    if not os.path.isdir("/proc"):
        return {}
    table = _cpu_table()
    children = collections.defaultdict(list)
    for pid, (ppid, _) in table.items():
        children[ppid].append(pid)
    out = {}
    for name, roots in groups.items():
        todo, total = list(roots), 0.0
        while todo:
            pid = todo.pop()
            if pid in table:
                total += table[pid][1]
                todo.extend(children[pid])
        out[name] = total
    out["bench client"] = table.get(os.getpid(), (0, 0.0))[1]
    out["machine"] = _machine_busy()
    return out


def cpu_per_request(before: dict, after: dict, served: int) -> dict[str, float]:
    """ms of CPU per request served, by group; 'everything else' is the rest of the machine's busy time."""
    if not before:
        return {}
    used = {k: after[k] - before[k] for k in before}
    used["everything else"] = used.pop("machine") - sum(used.values())
    return {k: 1000 * v / max(1, served) for k, v in used.items()}


def commands(r) -> collections.Counter:
    return collections.Counter({k.split("_", 1)[1]: v["calls"] for k, v in r.info("commandstats").items()})


def start_profile(line, out_dir: str, seconds: float):
    """py-spy the line's gunicorn (master and workers) for one round."""
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        log("py-spy not found: pip install py-spy into the venv to profile")
        return None
    os.makedirs(out_dir, exist_ok=True)
    web = next(p for p in line.procs if p.name == "web")
    raw = os.path.join(out_dir, "web.txt")
    cmd = [spy, "record", "--pid", str(web.pid), "--subprocesses", "--rate", "200", "--duration",
           str(int(seconds + 1)), "--format", "raw", "--output", raw, "--nonblocking"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), raw


WEB_BUCKETS = [  # first match wins, checked against every frame of a sample
    ("Redis round trips", lambda fr: "redis/" in fr),
    ("logging", lambda fr: "logging/__init__.py" in fr),
    ("signature check (RequestValidator)", lambda fr: "request_validator.py" in fr),
    ("TwiML rendering", lambda fr: "twilio/twiml" in fr),
    ("the line's own Python (parse, covert screen, replies)", lambda fr: "smsline/" in fr),
    ("Flask / Werkzeug", lambda fr: "flask/" in fr or "werkzeug/" in fr),
    ("gunicorn", lambda fr: "gunicorn/" in fr),
]


def finish_profile(handle) -> None:
    """Where the line's web spent its samples during one round, by bucket."""
    popen, raw = handle
    popen.wait(60)
    if not os.path.exists(raw):
        log("py-spy wrote nothing")
        return
    buckets, total = collections.Counter(), 0
    with open(raw) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            frames = stack.split(";")[1:]
            leaf = frames[-1].partition(" (")[0] if frames else ""
            if leaf.split(".")[-1] in ("wait", "select", "poll", "accept", "_wait_for_tstate_lock", "_worker"):
                bucket = "idle (waiting for requests)"
            else:
                bucket = next((name for name, match in WEB_BUCKETS if any(match(fr) for fr in frames)), "other")
            buckets[bucket] += int(count)
            total += int(count)
    print(f"py-spy of the line's web (master and both workers) during one round ({raw}); "
          f"share of {total} samples:", flush=True)
    for name, c in buckets.most_common():
        print(f"  {100 * c / total:5.1f}%  {name}", flush=True)


def _short(where: str) -> str:
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path) + ")"


def enroll(line, members: int) -> None:
    """Members with a confirmed buddy each; every other member has a long timer running."""
    def say(number, body):
        status, twiml = line.text(number, body)
        if status != 200:
            raise SystemExit(f"/sms answered {status} to {body.split()[0]}")
        return twiml

    for i in range(members):
        m, b = member_number(i), buddy_number(i)
        say(organizer_number(i // INVITES_PER_ORGANIZER), f"ADD {m} Rose{i}")
        say(m, "JOIN")
        say(m, f"BUDDY {b} Sam{i}")
        say(b, "YES")
        if i % 2 == 0:
            say(m, "START 600 at the corner cafe")


def combined(rounds: list[dict]) -> dict:
    """All rounds of one app together: requests over measured time, percentiles over every latency."""
    req = sum(r["requests"] for r in rounds)
    secs = sum(r["seconds"] for r in rounds)
    lat = [x for r in rounds for x in r["_latencies"]]
    return {"requests": req, "rps": req / secs if secs else 0.0, "errors": sum(r["errors"] for r in rounds),
            "p50_ms": 1000 * percentile(lat, 50), "p99_ms": 1000 * percentile(lat, 99),
            "max_ms": 1000 * max(lat) if lat else float("nan"),
            "client_cpu_s": sum(r["client_cpu_s"] for r in rounds)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10, help="measured seconds per round and app")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (bare, line) per app")
    p.add_argument("--warmup", type=float, default=3, help="unmeasured seconds of load on each app first")
    p.add_argument("--members", type=int, default=40, help="enrolled members texting STATUS and HELP")
    p.add_argument("--tree", help="measure this source tree instead of this checkout")
    p.add_argument("--max-load", type=float, default=None,
                   help="wait until the 1-minute load average is below this before starting")
    p.add_argument("--max-load-wait", type=float, default=300)
    p.add_argument("--yield-to", default=OTHER_BENCHES, metavar="SCRIPTS",
                   help="comma-separated scripts this benchmark does not run beside: it waits for them before "
                        "starting and before each round pair, and runs a pair again (at most --rounds times in "
                        f"all) when one ran during it; '' turns this off (default: {OTHER_BENCHES})")
    p.add_argument("--profile", metavar="DIR", help="py-spy the line's web during its first round (on-CPU)")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    stop_cleanly_on_sigterm()
    tree = use_tree(args.tree)
    procs = harness()
    members = args.members
    organizers = [organizer_number(i) for i in range(-(-members // INVITES_PER_ORGANIZER))]
    log(f"machine: {machine()}")
    others = [s.strip() for s in args.yield_to.split(",") if s.strip()]
    wait_for_others(others, args.max_load_wait)
    load_before = wait_for_quiet_machine(args.max_load, args.max_load_wait)
    web_cmd = procs.procfile_commands(os.path.join(tree, "Procfile"))["web"]
    log(f"gunicorn settings (the Procfile's web): {web_cmd}")

    workdir = tempfile.mkdtemp(prefix="smsline-bench-webhook-")
    with procs.running_line(os.path.join(workdir, "line"), seconds_per_minute=1.0, organizers=organizers,
                            **line_kwargs(tree)) as line:
        log(f"line up at {line.url} ({revision(tree)}); enrolling {members} members")
        enroll(line, members)
        texts = [(member_number(i), "STATUS") for i in range(members)] + \
                [(member_number(i), "HELP") for i in range(members)]
        texts = [t for pair in zip(texts[:members], texts[members:]) for t in pair]  # STATUS, HELP, STATUS, ...
        bare = procs.Line(os.path.join(workdir, "bare"), procfile=bare_procfile(tree, workdir), cwd=HERE,
                          processes=["web"], wait_healthy=False, twilio=line.twilio)
        bare.start()
        try:
            wait_up(bare.url)
            loads = {
                "bare": Load(bare.url, line.auth_token, line.twilio.account_sid, texts, args.clients,
                             sign_url=bare.env["SMSLINE_PUBLIC_URL"]),
                "line": Load(line.url, line.auth_token, line.twilio.account_sid, texts, args.clients,
                             sign_url=line.env["SMSLINE_PUBLIC_URL"]),
            }
            results = {"bare": [], "line": []}
            rc = line.redis_client()
            groups = {"web (gunicorn)": {"bare": [p.pid for p in bare.procs if p.name == "web"],
                                         "line": [p.pid for p in line.procs if p.name == "web"]},
                      "line's Redis": {"bare": [line.redis.pid], "line": [line.redis.pid]},
                      "line's workers": {"bare": [p.pid for p in line.procs if p.name == "worker"],
                                         "line": [p.pid for p in line.procs if p.name == "worker"]}}
            for name in ("bare", "line"):  # warm both up: imports, connection pools, Redis scripts
                loads[name].run(args.warmup, warmup=0)
            redone = 0
            with LoadSampler() as load:
                rnd = 0
                while rnd < args.rounds:
                    wait_for_others(others, args.max_load_wait)
                    pair = {}
                    with OthersWatch(others) as watch:
                        for name in ("bare", "line"):
                            before = commands(rc)
                            mem0 = int(rc.info("memory")["used_memory"])
                            mine = {g: pids[name] for g, pids in groups.items()}
                            cpu0 = cpu_snapshot(mine)
                            r = loads[name].run(args.seconds)
                            r["cpu_ms_per_request"] = cpu_per_request(cpu0, cpu_snapshot(mine), r["requests_all"])
                            if name == "line":
                                r["redis_bytes_per_request"] = (int(rc.info("memory")["used_memory"]) - mem0) / max(
                                    1, r["requests_all"])
                                delta = commands(rc) - before
                                # Counted over the round's warm-up second too: per request served in the whole run.
                                r["redis_cmds_per_request"] = sum(delta.values()) / max(1, r["requests_all"])
                                r["redis_top"] = ", ".join(f"{k} {v / max(1, r['requests_all']):.1f}"
                                                           for k, v in delta.most_common(6))
                            pair[name] = r
                            log(f"round {rnd + 1} {name:4s}: {r['rps']:7.1f} req/s, p50 {r['p50_ms']:.1f} ms, "
                                f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.0f} ms, {r['errors']} errors"
                                + (f" (last: {r['last_error']!r})" if r["errors"] else "")
                                + f"; client CPU {r['client_cpu_s']:.1f} s; load {load.samples[-1]:.1f}"
                                + (f"; Redis commands per request {r['redis_cmds_per_request']:.1f} ({r['redis_top']}),"
                                   f" Redis memory kept per request {r['redis_bytes_per_request']:.0f} bytes"
                                   if name == "line" else "")
                                + "; CPU ms per request: " + ", ".join(
                                    f"{k} {v:.2f}" for k, v in r["cpu_ms_per_request"].items()))
                    if watch.seen and redone < args.rounds:
                        redone += 1
                        log(f"round {rnd + 1} run again: another benchmark ran during it ({watch.seen[0][:120]})")
                        continue
                    for name, r in pair.items():
                        r["other_benchmark"] = bool(watch.seen)
                        results[name].append(r)
                    rnd += 1
            if args.profile:  # an extra round, not counted: py-spy slows what it watches
                spy = start_profile(line, args.profile, args.seconds + 1)
                r = loads["line"].run(args.seconds)
                log(f"profiled round (not counted) line: {r['rps']:.1f} req/s, p99 {r['p99_ms']:.1f} ms")
                finish_profile(spy)
        finally:
            bare.stop()

    summary = {name: combined(rs) for name, rs in results.items()}
    ratio = summary["line"]["rps"] / summary["bare"]["rps"] if summary["bare"]["rps"] else float("nan")
    print()
    print(f"webhook: {machine()}; tree {tree} ({revision(tree)}); {args.clients} clients, "
          f"{args.rounds} rounds x {args.seconds:g} s per app; load {load_before:.1f} before, "
          f"{load.mean:.1f} mean, {load.peak:.1f} peak"
          + (f"; {redone} round pair(s) run again because {', '.join(others)} ran during them" if redone else "")
          + ("; another benchmark ran during a counted round" if any(r["other_benchmark"] for r in results["line"])
             else ""))
    print("| app | requests/s | p50 (ms) | p99 (ms) | max (ms) | errors | requests |")
    print("|---|---|---|---|---|---|---|")
    for name, label in (("bare", "bare Flask + RequestValidator"), ("line", "smsline /sms (STATUS, HELP)")):
        s = summary[name]
        print(f"| {label} | {s['rps']:.0f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.0f} "
              f"| {s['errors']} | {s['requests']} |")
    cpu = {name: {k: sum(r["cpu_ms_per_request"].get(k, 0.0) * r["requests_all"] for r in rs)
                  / max(1, sum(r["requests_all"] for r in rs)) for k in rs[0].get("cpu_ms_per_request", {})}
           for name, rs in results.items()}
    if cpu["line"]:
        print("CPU per request served (ms; a run's warm-up second included; 'everything else' is the rest of "
              "the machine, other people's work too):")
        print("| app | " + " | ".join(cpu["line"]) + " | total |")
        print("|---|" + "---|" * (len(cpu["line"]) + 1))
        for name in ("bare", "line"):
            print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in cpu[name].values())
                  + f" | {sum(cpu[name].values()):.2f} |")
    print(f"ratio line / bare: {ratio:.2f} (goal >= {GOAL_RATIO}: {'yes' if ratio >= GOAL_RATIO else 'NO'}); "
          f"line p99 {summary['line']['p99_ms']:.1f} ms (goal < {GOAL_P99 * 1000:.0f} ms: "
          f"{'yes' if summary['line']['p99_ms'] < GOAL_P99 * 1000 else 'NO'})")
    if args.json:
        with open(args.json, "w") as f:
            rounds = {k: [{f: v for f, v in r.items() if not f.startswith("_")} for r in rs] for k, rs in results.items()}
            json.dump({"rounds": rounds, "summary": summary, "ratio": ratio, "revision": revision(tree),
                       "load_mean": load.mean, "load_peak": load.peak, "rounds_run_again": redone}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
