#!/usr/bin/env python
"""CPU per request of the send path: twilio-python's async client vs a bare aiohttp session.

Starts the Twilio stand-in in a child process (so its CPU is not counted), then
sends --n texts with --concurrency in flight through (a) smsline's TwilioTransport
(twilio-python's AsyncTwilioHttpClient on the sending loop) and (b) one aiohttp
ClientSession posting the same form (same URL, basic auth, timeout) from the same
kind of loop, and prints this process's CPU seconds per request for each.

    .venv/bin/python bench/transport_cpu.py --n 3000
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

STAND_IN = """
import sys, time
sys.path.insert(0, %r)
from tests.standin import TwilioStandIn
s = TwilioStandIn(delay=%f)
print(s.url, s.account_sid, s.auth_token, flush=True)
time.sleep(3600)
"""


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def via_twilio(url, sid, token, n, conc, delay) -> tuple[float, float, int]:
    from smsline import config
    from smsline.transport import TwilioTransport

    s = config.from_env({"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM_NUMBER": "+15005550006",
                         "TWILIO_API_URL": url, "SMSLINE_SEND_CONCURRENCY": str(conc),
                         "SMSLINE_SECRET_KEY": "x" * 32})
    t = TwilioTransport(s)
    t.warm_up()
    t.send_many([("+15005550100", "warm")] * conc)
    c0, w0 = cpu(), time.monotonic()
    futures = [t.submit_many([(f"+1646{2000000 + i:07d}", "Alert: Rose needs you.")],
                             status_callback="http://127.0.0.1:9/sms/status") for i in range(n)]
    ok = sum(isinstance(f.result()[0], str) for f in futures)
    c1, w1 = cpu(), time.monotonic()
    t.close()
    return c1 - c0, w1 - w0, ok


def via_aiohttp(url, sid, token, n, conc, delay) -> tuple[float, float, int]:
    import aiohttp

    endpoint = f"{url}/2010-04-01/Accounts/{sid}/Messages.json"

    async def main():
        sem = asyncio.Semaphore(conc)
        async with aiohttp.ClientSession(auth=aiohttp.BasicAuth(sid, token),
                                         timeout=aiohttp.ClientTimeout(total=10),
                                         connector=aiohttp.TCPConnector(limit=conc)) as session:
            async def one(i):
                async with sem:
                    form = {"To": f"+1646{2000000 + i:07d}", "From": "+15005550006",
                            "Body": "Alert: Rose needs you.", "StatusCallback": "http://127.0.0.1:9/sms/status"}
                    async with session.post(endpoint, data=form) as r:
                        body = await r.json()
                        return r.status == 201 and body.get("sid")

            await asyncio.gather(*(one(i) for i in range(conc)))  # warm
            c0, w0 = cpu(), time.monotonic()
            res = await asyncio.gather(*(one(i) for i in range(n)))
            return cpu() - c0, time.monotonic() - w0, sum(bool(x) for x in res)

    return asyncio.run(main())


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--delay", type=float, default=0.15)
    a = p.parse_args()
    child = subprocess.Popen([sys.executable, "-c", STAND_IN % (ROOT, a.delay)], stdout=subprocess.PIPE, text=True)
    try:
        url, sid, token = child.stdout.readline().split()
        for name, fn in (("twilio-python async", via_twilio), ("aiohttp session", via_aiohttp)):
            c, w, ok = fn(url, sid, token, a.n, a.concurrency, a.delay)
            print(f"{name:22s}: {a.n} requests ({ok} accepted), {a.concurrency} in flight, {a.delay} s each: "
                  f"{w:.2f} s wall, {c:.2f} s CPU = {1000 * c / a.n:.2f} ms CPU per request, "
                  f"{a.n / w:.0f} req/s (ideal {a.concurrency / a.delay:.0f}); load {os.getloadavg()[0]:.1f}",
                  flush=True)
    finally:
        child.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
