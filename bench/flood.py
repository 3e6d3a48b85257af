#!/usr/bin/env python
"""One number floods the line (issue 12): what it costs everyone else.

Starts the real line (embedded Redis, the Procfile's web and worker, a Twilio
stand-in), enrolls members, then measures the latency of signed /sms texts
from the other members (STATUS, HELP, BUDDIES, paced at --rate texts/s over
--members numbers, so each stays well under the flood limit) in three phases:

- quiet: nobody floods;
- held flood: one member posts --flood signed texts (BUDDIES, CHECK, NAME,
  gibberish) as fast as --flood-clients connections allow. Past the per-number
  limit (handlers.inbound.FLOOD_PER_MINUTE a minute) these are held back: one short
  reply, then nothing, without running their handlers;
- exempt flood: another member posts --flood texts of `OK`, which the limit
  never holds back, so each runs in full: what every flood text cost before
  the limit, and what an SOS or OK flood still costs.

Printed: p50/p99/max of the others' latency in each phase, and how fast the
flood went and how many of its texts were held back.

    .venv/bin/python bench/flood.py
    .venv/bin/python bench/flood.py --flood 3000          # a longer flood: more of the others' texts meet it
    .venv/bin/python bench/flood.py --tree /path/to/older/checkout   # the same load on a line without the limit
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import os
import secrets
import sys
import tempfile
import threading
import time
from urllib.parse import urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from twilio.request_validator import RequestValidator  # noqa: E402

from common import harness, line_kwargs, log, machine, percentile, revision, stop_cleanly_on_sigterm, use_tree  # noqa: E402
from webhook import INVITES_PER_ORGANIZER, enroll, member_number, organizer_number  # noqa: E402

FLOOD_BODIES = ("BUDDIES", "CHECK 415 555 0123", "NAME Rose", "what is this", "BUDDIES please")


class Poster:
    """Signed Twilio-style posts to a line's /sms over one keep-alive connection."""

    def __init__(self, line):
        self.base = urlsplit(line.url)
        self.sign_url = line.env["SMSLINE_PUBLIC_URL"] + "/sms"
        self.validator = RequestValidator(line.auth_token)
        self.account_sid = line.twilio.account_sid
        self.conn = None

    def post(self, number: str, body: str) -> tuple[float, int, bytes]:
        sid = "SM" + secrets.token_hex(16)
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "From": number,
                  "To": "+15005550006", "Body": body, "NumMedia": "0", "ApiVersion": "2010-04-01"}
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": self.validator.compute_signature(self.sign_url, params)}
        t0 = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=30)
            self.conn.request("POST", "/sms", body=urlencode(params).encode(), headers=headers)
            resp = self.conn.getresponse()
            status, payload = resp.status, resp.read()
        except (OSError, http.client.HTTPException) as e:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            status, payload = 0, repr(e).encode()
        return time.monotonic() - t0, status, payload


def others(line, numbers: list[str], rate: float, stop: threading.Event, out: list[float], errors: list[str]) -> None:
    """Paced texts from the other members until stop: each one's latency into out."""
    poster = Poster(line)
    bodies = itertools.cycle(("STATUS", "HELP", "BUDDIES"))
    who = itertools.cycle(numbers)
    next_at = time.monotonic()
    while not stop.is_set():
        next_at += 1.0 / rate
        dt, status, payload = poster.post(next(who), next(bodies))
        if status == 200 and b"<Message>" in payload:
            out.append(dt)
        else:
            errors.append(f"{status} {payload[:80]!r}")
        time.sleep(max(0.0, next_at - time.monotonic()))


def flood(line, number: str, bodies, total: int, clients: int) -> dict:
    """total signed texts from one number over `clients` connections, as fast as they go."""
    counter = itertools.count()
    replied, silent, failed = [0], [0], [0]
    lock = threading.Lock()

    def client():
        poster = Poster(line)
        cycle = itertools.cycle(bodies)
        while next(counter) < total:
            with lock:
                body = next(cycle)
            _, status, payload = poster.post(number, body)
            with lock:
                if status != 200:
                    failed[0] += 1
                elif b"<Message>" in payload:
                    replied[0] += 1
                else:
                    silent[0] += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    return {"seconds": secs, "rps": total / secs, "replied": replied[0], "silent": silent[0], "failed": failed[0]}


def phase(line, numbers, rate, seconds=None, flood_args=None) -> dict:
    """The others' latency while nothing else runs (seconds) or while a flood runs (flood_args)."""
    stop, lat, errors = threading.Event(), [], []
    t = threading.Thread(target=others, args=(line, numbers, rate, stop, lat, errors), daemon=True)
    t.start()
    result = {}
    if flood_args:
        time.sleep(0.5)
        result["flood"] = flood(line, *flood_args)
    else:
        time.sleep(seconds)
    stop.set()
    t.join(30)
    result.update(count=len(lat), errors=len(errors), last_error=errors[-1] if errors else "",
                  p50=1000 * percentile(lat, 50), p99=1000 * percentile(lat, 99),
                  max=1000 * max(lat) if lat else float("nan"))
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=60, help="members texting beside the flood")
    p.add_argument("--rate", type=float, default=15.0,
                   help="their texts a second, all together (keep rate * 60 / members under the flood limit)")
    p.add_argument("--flood", type=int, default=500, help="texts from the flooding number per flood phase")
    p.add_argument("--flood-clients", type=int, default=8, help="concurrent connections of the flood")
    p.add_argument("--quiet-seconds", type=float, default=15)
    p.add_argument("--tree", help="measure this source tree instead of this checkout")
    args = p.parse_args(argv)
    stop_cleanly_on_sigterm()
    tree = use_tree(args.tree)
    try:  # the measured tree's
        from smsline.handlers import inbound  # noqa: F401
    except ImportError:  # a tree from before the handlers package
        from smsline import service  # noqa: F401

    procs = harness()
    total = args.members + 2  # two more members flood
    organizers = [organizer_number(i) for i in range(-(-total // INVITES_PER_ORGANIZER))]
    log(f"machine: {machine()}")
    workdir = tempfile.mkdtemp(prefix="smsline-bench-flood-")
    with procs.running_line(os.path.join(workdir, "line"), seconds_per_minute=1.0, organizers=organizers,
                            **line_kwargs(tree)) as line:
        log(f"line up at {line.url} ({revision(tree)}); enrolling {total} members")
        enroll(line, total)
        numbers = [member_number(i) for i in range(args.members)]
        held_flooder, exempt_flooder = member_number(args.members), member_number(args.members + 1)
        time.sleep(61)  # the enrolment's own texts fall out of every number's flood window
        phase(line, numbers, args.rate, seconds=3)  # warm up: imports, pools, scripts
        results = {
            "quiet": phase(line, numbers, args.rate, seconds=args.quiet_seconds),
            "held flood": phase(line, numbers, args.rate,
                                flood_args=(held_flooder, FLOOD_BODIES, args.flood, args.flood_clients)),
            "exempt flood (OK)": phase(line, numbers, args.rate,
                                       flood_args=(exempt_flooder, ("OK",), args.flood, args.flood_clients)),
        }
    print()
    print(f"flood: {machine()}; tree {tree} ({revision(tree)}); {args.members} others at {args.rate:g} texts/s; "
          f"flood {args.flood} texts from one member over {args.flood_clients} connections; "
          f"limit {getattr(service, 'FLOOD_PER_MINUTE', 'none')}/min")
    print("| phase | others p50 (ms) | others p99 (ms) | others max (ms) | others' texts | errors "
          "| flood texts/s | flood replied | flood held silent |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        f = r.get("flood", {})
        print(f"| {name} | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.0f} | {r['count']} | {r['errors']} "
              f"| {f.get('rps', float('nan')):.0f} | {f.get('replied', '-')} | {f.get('silent', '-')} |")
        if r["errors"]:
            print(f"  last error: {r['last_error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
