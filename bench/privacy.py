#!/usr/bin/env python
"""Privacy at rest (issue 12): what sealing, keyed covert words and a thorough WIPE cost, and what they buy.

Prints, one line each:
1. covert words: one inbound text of 8 words screened against a safe and a duress word, per text:
   the old PBKDF2 (2,000 iterations, no key) against the keyed HMAC; and how many guesses a second
   one core tests against a dumped PBKDF2 hash (a keyed hash admits none without the key).
2. sealing: AES-GCM seal + open of a 40-character note, per note.
3. WIPE on a real (embedded) Redis holding --keys other keys (send records, kept replies, timers of
   others): how long the WIPE takes (its one SCAN dominates), and how long until the AOF file on disk
   no longer holds the number after the rewrite the WIPE starts.

Usage: .venv/bin/python bench/privacy.py [--keys 100000]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from smsline import covert, embedded_redis  # noqa: E402
from smsline.sealing import Sealer  # noqa: E402
from smsline.store import Keys, Store  # noqa: E402

BODY = "one two three four five six seven eight"
NUMBER = "+14155550102"


def per_call(fn, n: int) -> float:
    began = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - began) / n


def covert_cost() -> None:
    sealer = Sealer("bench-key")
    salt = "ab" * 16
    legacy = {"safe_salt": salt, "safe_hash": covert._legacy_digest("bluebird", salt),
              "duress_salt": salt, "duress_hash": covert._legacy_digest("sunflower", salt)}
    s1, h1 = covert.hash_word(sealer, "bluebird")
    s2, h2 = covert.hash_word(sealer, "sunflower")
    keyed = {"safe_salt": s1, "safe_hash": h1, "duress_salt": s2, "duress_hash": h2}
    old = per_call(lambda: covert.Screen(sealer, legacy, BODY), 30)
    new = per_call(lambda: covert.Screen(sealer, keyed, BODY), 3000)
    guess = per_call(lambda: hashlib.pbkdf2_hmac("sha256", b"guess", bytes.fromhex(salt), 2000), 200)
    print(f"covert words, per 8-word text: PBKDF2x2000 {old * 1000:.2f} ms, keyed HMAC {new * 1e6:.1f} us; "
          f"a dumped PBKDF2 hash falls to {1 / guess:,.0f} guesses/s on one core; a keyed hash to none without the key")


def sealing_cost() -> None:
    sealer = Sealer("bench-key")
    note = "Motel 6 room 112, grey Honda 7ABC123 ok"
    print(f"seal+open of a note: {per_call(lambda: sealer.open(sealer.seal(note, 'note'), 'note'), 20000) * 1e6:.1f} us")


def wipe_cost(others: int) -> None:
    with tempfile.TemporaryDirectory() as var:
        server = embedded_redis.start(var)
        try:
            r = server.client()
            store = Store(r, "bench-key")
            pid = store.ensure_person(NUMBER)
            store.set_fields(pid, alias="Zinnia")
            with r.pipeline(transaction=False) as pipe:
                for i in range(others):
                    kind = i % 3
                    if kind == 0:
                        pipe.set(Keys.sent.format(mid=f"x-{i:08x}-{i:016x}"), "sent", ex=86400)
                    elif kind == 1:
                        store.keep_reply(f"SM{i:032d}", ["Your timer runs until 9:30pm."], pid=f"{i:016x}")
                    else:
                        pipe.set(Keys.timer.format(pid=f"{i:016x}"), '{"tid": 1}', ex=86400)
                    if i % 5000 == 4999:
                        pipe.execute()
                pipe.execute()
            for i in range(20):
                store.keep_reply(f"SMmine{i:026d}", ["ok"], pid=pid)
            r.bgrewriteaof()
            _wait_rewrite(r)
            aof = os.path.join(var, "appendonly.aof")
            began = time.perf_counter()
            store.wipe(pid, NUMBER)
            took = time.perf_counter() - began
            started = time.perf_counter()
            store.request_aof_rewrite(time.time())
            _wait_rewrite(r)
            with open(aof, "rb") as f:
                clean = NUMBER[2:].encode() not in f.read()
            print(f"WIPE among {r.dbsize():,} keys: {took:.2f} s; AOF rewritten and free of the number "
                  f"{time.perf_counter() - started:.2f} s later: {clean}")
        finally:
            server.stop()


def _wait_rewrite(r) -> None:
    deadline = time.time() + 120
    time.sleep(0.05)
    while r.info("persistence")["aof_rewrite_in_progress"] or r.info("persistence").get("aof_rewrite_scheduled"):
        if time.time() > deadline:
            raise TimeoutError("AOF rewrite did not finish")
        time.sleep(0.02)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=100_000)
    args = ap.parse_args()
    covert_cost()
    sealing_cost()
    wipe_cost(args.keys)


if __name__ == "__main__":
    main()
