"""Nothing left behind, nothing in the clear: sealing at rest, keyed covert words, WIPE, the AOF, key rotation.

Driven through /sms as phones would (World: fakeredis, recording transport, pinned clock). The
scans read EVERY key and value in Redis, RQ's included (job payloads decompressed), and open
every sealed value with the line's own key: what a seized server with its key would show.
"""
from __future__ import annotations

import json
import time
import zlib

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from smsline import covert
from smsline.reports import screen_hash
from smsline.phones import keyed_hash
from smsline.sealing import PREFIX, SealError, Sealer
from smsline.store import Keys
from smsline.transport import SendError
from tests.conftest import ORGANIZER, World

ROSE, SAM, IVY, DAN, ORG2, NOBODY = ("+14155550102", "+14155550103", "+14155550120", "+14155550121",
                                     "+14155550005", "+14155550177")
NOTES = ("Zebra Motel 6671", "Quokka Inn room 9", "Quasar Lane 55")


def everything(redis) -> list[tuple[bytes, bytes]]:
    """(key, value) for every key and every value in it; compressed RQ payloads also decompressed."""
    out = []
    for k in redis.scan_iter(count=1000):
        kind = redis.type(k)
        if kind == b"string":
            vals = [redis.get(k)]
        elif kind == b"hash":
            vals = [x for kv in redis.hgetall(k).items() for x in kv]
        elif kind == b"list":
            vals = redis.lrange(k, 0, -1)
        elif kind == b"set":
            vals = list(redis.smembers(k))
        elif kind == b"zset":
            vals = [m for m, _ in redis.zrange(k, 0, -1, withscores=True)]
        else:
            vals = []
        for v in [k] + [v for v in vals if v is not None]:
            out.append((k, v))
            try:
                out.append((k, zlib.decompress(v)))
            except zlib.error:
                pass
    return out


def opened(w, pairs) -> list[tuple[bytes, bytes]]:
    """Every sealed value found, opened with the line's key (with the key, what is still there?)."""
    out = []
    for k, v in pairs:
        for token in v.split(b'"') + v.split(b"|"):
            token = token.strip()
            if token.startswith(PREFIX.encode()):
                for purpose in ("note", "round", "reply", "text", "ready", "report"):
                    try:
                        out.append((k, w.line.store.sealer.open(token, purpose).encode()))
                        break
                    except SealError:
                        continue
    return out


def traces(w, number: str, notes=()) -> list[tuple[bytes, bytes]]:
    """Where the number, its keyed hashes or its notes still are (the opt-out set excepted)."""
    secret = w.line.settings.secret_key
    needles = [number.encode(), number.lstrip("+").encode(), number[2:].encode(),
               keyed_hash(secret, number).encode(), screen_hash(secret, number).encode()]
    needles += [n.encode() for n in notes]
    pairs = everything(w.redis)
    pairs += opened(w, pairs)
    return [(k, n) for k, v in pairs for n in needles if n in v and k != Keys.optout.encode()]


def retry_everything(w, rounds: int = 10) -> None:
    """Run every retry RQ scheduled, until each job is sent or has failed for good (Twilio still failing)."""
    for _ in range(rounds):
        moved = 0
        for q in w.line.queues.values():
            reg = ScheduledJobRegistry(queue=q)
            for jid in reg.get_job_ids():
                if jid.startswith("due-"):
                    continue  # timer steps: World.advance runs those at their time
                job = Job.fetch(jid, connection=w.redis)
                reg.remove(job)
                Queue(job.origin, connection=w.redis).enqueue_job(job)
                moved += 1
        w.run_jobs()
        if not moved:
            return


def same_redis(w, **settings) -> World:
    """The line restarted on the same Redis with other settings (a key rotation)."""
    import itertools

    from smsline import create_app

    other = World.__new__(World)
    other.now, other.redis, other.transport = w.now, w.redis, w.transport
    base = {"organizers": (ORGANIZER,), "seconds_per_minute": 60.0, "network_name": "Line", **settings}
    other.app = create_app(base, redis=w.redis, transport=w.transport, clock=lambda: other.now)
    other.line, other.client, other._sids = other.app.extensions["smsline"], other.app.test_client(), itertools.count(900)
    return other


@pytest.fixture
def line(world):
    """An organizer, Rose (a member) with Sam as her confirmed buddy; Rose's alias is Zinnia."""
    w = world
    w.text(ORGANIZER, f"ADD {ROSE} Zinnia")
    w.text(ROSE, "JOIN")
    w.text(ROSE, f"BUDDY {SAM} Sam")
    w.text(SAM, "YES")
    for n in (ORGANIZER, ROSE, SAM):
        w.take(n)
    return w


def past_timers_with_twilio_failing(w) -> None:
    """Rose: a timer ended safely, one whose alarm went out while Twilio failed, then an SOS still open."""
    w.transport.fail[SAM] = SendError(None, 503, True)  # Twilio cannot take texts to Sam: retried, then failed
    w.text(ROSE, f"START 30 {NOTES[0]}")
    w.text(ROSE, "OK")
    w.text(ROSE, f"START 20 {NOTES[1]}")
    w.advance(40)
    retry_everything(w)
    assert any(NOTES[1] in t for t in w.inbox(ORGANIZER)), "the alert was handed on and sent, note and all"
    w.text(ROSE, "OK")
    w.text(ROSE, f"SOS {NOTES[2]}")
    retry_everything(w)


# ------------------------------------------------------------------ sealed at rest


def test_notes_kept_replies_and_waiting_texts_are_never_in_redis_in_the_clear(line):
    """Notes are in timers, round specs, waiting texts and RQ retries; none of it readable without the key."""
    w = line
    past_timers_with_twilio_failing(w)
    assert ScheduledJobRegistry(queue=w.line.queues["smsline-high"]).get_job_ids() or \
        FailedJobRegistry(queue=w.line.queues["smsline-high"]).get_job_ids(), "the alert jobs were retried"
    pairs = everything(w.redis)
    for note in NOTES:
        assert not [k for k, v in pairs if note.encode() in v], note
    with_key = opened(w, pairs)
    assert any(NOTES[1].encode() in v for _, v in with_key), "the line itself still reads them"
    # RQ payloads carry ids: no number in any job, retried or failed.
    jobs = [(k, v) for k, v in pairs if k.startswith(b"rq:")]
    assert jobs and not [k for k, v in jobs for n in (ROSE, SAM) if n[2:].encode() in v]


def test_a_sealed_value_names_its_key_and_purpose_and_a_wrong_key_or_purpose_cannot_open_it():
    a, b = Sealer("key-a"), Sealer("key-b")
    sealed = a.seal("Zebra Motel", "note")
    assert sealed.startswith(f"s1.{a.kid}.") and "Zebra" not in sealed
    assert a.open(sealed, "note") == "Zebra Motel"
    with pytest.raises(SealError):
        b.open(sealed, "note")
    with pytest.raises(SealError):
        a.open(sealed, "reply")
    assert a.seal("x", "note") != a.seal("x", "note"), "a fresh nonce each time"
    assert Sealer("key-b", old="key-a").open(sealed, "note") == "Zebra Motel"


def test_covert_words_are_keyed_hashes_a_dump_alone_cannot_test(line):
    """The stored hash is HMAC under a derived key: the salt and a dictionary are not enough."""
    import hashlib
    import hmac

    w = line
    w.text(ROSE, "SAFEWORD bluebird")
    person = w.line.store.person(w.line.store.pid_for(ROSE))
    salt, stored = person["safe_salt"], person["safe_hash"]
    assert stored.startswith(f"h1.{w.line.store.sealer.kid}.")
    digest = stored.split(".", 2)[2]
    guesses = [hmac.new(bytes.fromhex(salt), b"bluebird", hashlib.sha256).hexdigest(),
               hashlib.sha256(bytes.fromhex(salt) + b"bluebird").hexdigest(),
               hashlib.pbkdf2_hmac("sha256", b"bluebird", bytes.fromhex(salt), 2000).hex(),
               hmac.new(w.line.settings.secret_key.encode(), bytes.fromhex(salt) + b"bluebird",
                        hashlib.sha256).hexdigest()]
    assert digest not in guesses
    w.text(ROSE, "START 30")
    assert "ended" in w.reply(ROSE, "bluebird")


def test_a_word_stored_the_old_way_still_works_and_is_rehashed_with_the_key(line):
    """Hashes stored before keyed hashes (PBKDF2, no key) verify once, then are replaced."""
    w = line
    pid = w.line.store.pid_for(ROSE)
    salt = "00" * 16
    w.line.store.set_fields(pid, safe_salt=salt, safe_hash=covert._legacy_digest("bluebird", salt))
    w.text(ROSE, "START 30")
    assert "ended" in w.reply(ROSE, "OK bluebird")
    assert w.take(SAM) == [], "the old hash matched: no covert alarm"
    assert w.line.store.person(pid)["safe_hash"].startswith(f"h1.{w.line.store.sealer.kid}.")


def test_per_text_cost_of_screening_covert_words_is_small(line):
    """Eight words against two keyed hashes: well under a millisecond (PBKDF2 x2000 took about 15 ms)."""
    w = line
    w.text(ROSE, "SAFEWORD bluebird")
    w.text(ROSE, "DURESS sunflower bluebird")
    person = w.line.store.person(w.line.store.pid_for(ROSE))
    body = "one two three four five six seven eight"
    began = time.perf_counter()
    for _ in range(100):
        covert.Screen(w.line.store.sealer, person, body)
    per_text = (time.perf_counter() - began) / 100
    assert per_text < 0.002, per_text


# ------------------------------------------------------------------ WIPE


def test_member_wipe_leaves_no_trace_of_number_hashes_or_notes_anywhere_even_with_twilio_failing(line):
    """Several past timers (alerts sent and retried, an SOS open), then WIPE: every key and value is clean."""
    w = line
    past_timers_with_twilio_failing(w)
    before = traces(w, ROSE, NOTES)
    assert before, "the scan does find what is there"
    assert "WIPE YES" in w.reply(ROSE, "WIPE")
    assert FailedJobRegistry(queue=w.line.queues["smsline-high"]).get_job_ids(), "an alert job failed for good"
    assert "erased" in w.reply(ROSE, "WIPE YES")
    assert traces(w, ROSE, NOTES) == []
    assert w.redis.keys("sl:dl:*") == [] and w.redis.keys("sl:t:*") == []
    w.transport.fail.clear()
    retry_everything(w)
    w.advance(60)
    assert traces(w, ROSE, NOTES) == []
    assert w.take(SAM) == [], "no alarm for someone erased: the open SOS ended with the WIPE"


def test_buddy_wipe_erases_the_buddy_and_the_members_link(line):
    w = line
    past_timers_with_twilio_failing(w)
    w.transport.fail.clear()
    w.text(ROSE, "OK")
    assert "erased" in w.reply(SAM, "WIPE YES")
    assert traces(w, SAM) == []
    assert "no confirmed buddy" in w.reply(ROSE, "TEST")


def test_an_invitee_a_declined_buddy_and_a_removed_member_can_wipe_and_are_then_gone(line):
    """People with only a non-member record used to get the stranger reply and could not WIPE."""
    w = line
    w.text(ORGANIZER, f"ADD {IVY} Ivy")  # invited, never joined
    w.text(ROSE, f"BUDDY {DAN} Dan")
    w.text(DAN, "NO")  # declined: the record stays
    w.text(ORGANIZER, f"REMOVE {ROSE}")
    for number in (IVY, DAN, ROSE):
        assert "WIPE YES" in w.reply(number, "WIPE"), number
        assert "erased" in w.reply(number, "WIPE YES"), number
        assert traces(w, number) == [], number


def test_a_number_with_no_record_gets_the_same_wipe_answers(line):
    """No oracle: WIPE answers alike whether the number had a record or not."""
    w = line
    w.text(ORGANIZER, f"ADD {IVY} Ivy")
    assert w.reply(NOBODY, "WIPE") == w.reply(IVY, "WIPE")
    assert w.reply(NOBODY, "WIPE YES") == w.reply(IVY, "WIPE YES")
    assert traces(w, NOBODY) == []


def test_an_organizer_can_wipe_while_another_remains_and_the_last_one_is_refused(line):
    w = line
    w.text(ORGANIZER, f"ORGANIZER {ORG2}")
    w.text(ORG2, "YES")
    assert "erased" in w.reply(ORG2, "WIPE YES")
    assert traces(w, ORG2) == [] and len(w.line.store.organizers()) == 1
    for body in ("WIPE", "WIPE YES"):
        reply = w.reply(ORGANIZER, body)
        assert "last organizer" in reply and "ORGANIZER" in reply
    assert w.line.store.pid_for(ORGANIZER) and w.line.store.organizers()


def test_wipe_of_a_reporter_drops_their_link_to_a_pending_report(line):
    w = line
    reply = w.reply(ROSE, "REPORT 415-555-0199 hit me at the Zebra Motel")
    rid = reply.split("#")[1][:5]
    w.text(ROSE, "WIPE YES")
    w.text(ORGANIZER, f"APPROVE {rid} SEND")
    assert w.line.store.pid_for(ROSE) is None
    from smsline.reports import ReportKeys

    assert not w.redis.exists(ReportKeys.sealed.format(rid=rid)), "sent: the full text went with the decision"
    assert traces(w, ROSE) == []


def test_wipe_asks_redis_to_rewrite_its_aof_at_most_once_a_minute_and_retries_a_refusal(line):
    w = line
    calls = []
    real = w.redis.bgrewriteaof

    def refuse_first():
        calls.append(w.now)
        if len(calls) == 1:
            from redis.exceptions import ResponseError

            raise ResponseError("Background append only file rewriting already in progress")
        return True

    w.redis.bgrewriteaof = refuse_first
    try:
        w.text(IVY, "WIPE YES")
        assert len(calls) == 1 and w.redis.exists(Keys.aof_due), "refused: still due"
        w.redis.delete(Keys.aof_lock)  # the minute passed
        from smsline import jobs

        jobs.sweep(now=w.now, direct=True)
        assert len(calls) == 2 and not w.redis.exists(Keys.aof_due)
        w.text(DAN, "WIPE YES")
        assert len(calls) == 2 and w.redis.exists(Keys.aof_due), "inside the minute: due, not started"
    finally:
        w.redis.bgrewriteaof = real


def test_after_wipe_the_aof_on_disk_no_longer_holds_the_note(tmp_path):
    """A real Redis with AOF: the note is in the file before WIPE (sealed), the number too; after the rewrite, neither."""
    from smsline import create_app, embedded_redis
    from smsline.transport import RecordingTransport

    server = embedded_redis.start(str(tmp_path))
    try:
        r = server.client()
        app = create_app({"organizers": (ORGANIZER,), "network_name": "Line"}, redis=r,
                         transport=RecordingTransport(), clock=time.time)
        client = app.test_client()
        sids = iter(range(1, 100))

        def text(number, body):
            client.post("/sms", data={"From": number, "Body": body, "MessageSid": f"SM{next(sids):032d}"})

        text(ORGANIZER, f"ADD {ROSE} Zinnia")
        text(ROSE, "JOIN")
        text(ROSE, f"START 30 {NOTES[0]}")
        r.bgrewriteaof()  # what the AOF holds before: compacted, so the record is there once
        aof = tmp_path / "appendonly.aof"
        deadline = time.time() + 10
        while (r.info("persistence")["aof_rewrite_in_progress"] or ROSE[2:].encode() not in aof.read_bytes()) \
                and time.time() < deadline:
            time.sleep(0.05)
        assert ROSE[2:].encode() in aof.read_bytes()
        assert NOTES[0].encode() not in aof.read_bytes(), "the note never reaches the disk in the clear"
        r.delete(Keys.aof_lock)
        text(ROSE, "WIPE YES")
        while time.time() < deadline and (r.info("persistence")["aof_rewrite_in_progress"]
                                          or ROSE[2:].encode() in aof.read_bytes()):
            time.sleep(0.05)
        assert ROSE[2:].encode() not in aof.read_bytes()
        assert keyed_hash(app.extensions["smsline"].settings.secret_key, ROSE).encode() not in aof.read_bytes()
    finally:
        server.stop()


# ------------------------------------------------------------------ key rotation


def test_after_a_key_rotation_the_old_key_still_opens_and_rotate_seals_again(line):
    """SMSLINE_SECRET_KEY_OLD: notes, kept replies, lookups and words keep working; `keys rotate` moves them."""
    w = line
    old_key = w.line.settings.secret_key
    w.text(ROSE, "SAFEWORD bluebird")
    w.text(ROSE, f"START 30 {NOTES[0]}")
    old_kid = w.line.store.sealer.kid
    rotated = same_redis(w, secret_key="a-brand-new-secret-key", secret_key_old=old_key)
    assert rotated.line.store.sealer.kid != old_kid
    assert NOTES[0].split()[0] in rotated.reply(ROSE, "STATUS"), "the old key opens the note"
    out = rotated.app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert out.exit_code == 0 and "resealed" in out.output, out.output
    raw = json.loads(w.redis.get(Keys.timer.format(pid=rotated.line.store.pid_for(ROSE))))
    assert raw["note"].startswith(f"s1.{rotated.line.store.sealer.kid}.")
    assert "1 covert words still under an older key" in out.output
    assert "ended" in rotated.reply(ROSE, "OK bluebird"), "the word verifies under the old key"
    person = rotated.line.store.person(rotated.line.store.pid_for(ROSE))
    assert person["safe_hash"].startswith(f"h1.{rotated.line.store.sealer.kid}."), "and is rehashed"
    assert rotated.redis.keys(f"sl:n:{keyed_hash(old_key, ROSE)}") == [], "the lookup moved to the new key"


def test_in_the_demo_wipe_also_takes_the_numbers_texts_out_of_the_simulators_log():
    """Without Twilio the line keeps a log of texts for the simulator page; WIPE leaves nothing of the number there."""
    import itertools

    import fakeredis

    from smsline import create_app

    w = World.__new__(World)
    w.now, w.redis, w._sids = 1_800_000_000.0, fakeredis.FakeRedis(), itertools.count(1)
    w.app = create_app({"organizers": (ORGANIZER,), "network_name": "Line"}, redis=w.redis, clock=lambda: w.now)
    w.line, w.client = w.app.extensions["smsline"], w.app.test_client()
    w.text(ORGANIZER, f"ADD {ROSE} Zinnia")
    w.text(ROSE, "JOIN")
    assert ROSE.encode() in b" ".join(w.redis.lrange(Keys.sim_log, 0, -1))
    w.text(ROSE, "WIPE YES")
    assert traces(w, ROSE) == []


def test_texts_queued_before_the_upgrade_in_the_old_form_are_still_sent(line):
    """A send job or a bulk text in flight across the deploy (numbers and bodies in the clear) still goes."""
    w = line
    from smsline import pacing
    from smsline.bootstrap import DEFAULT
    from smsline.jobs import send_texts

    w.line.queues[DEFAULT].enqueue_call(send_texts, args=([{"id": "old-1", "to": SAM, "body": "old job"}],))
    w.redis.rpush(pacing.BulkKeys.outbox, '1|{"id":"old-2","to":"%s","body":"old bulk"}' % SAM)
    w.run_jobs()
    pacing.drain(w.line)
    assert w.take(SAM) == ["old job", "old bulk"]


def test_wipe_takes_the_numbers_waiting_broadcast_texts_and_leaves_the_others(line):
    """A paced broadcast still going out: the wiped member's text leaves the queue, everyone else's stays."""
    from smsline import pacing

    w = line
    for n, alias in ((IVY, "Ivy"), (DAN, "Dan")):
        w.text(ORGANIZER, f"ADD {n} {alias}")
        w.text(n, "JOIN")
        w.take(n)
    w.redis.delete(pacing.BulkKeys.chain)
    w.line.settings = w.line.settings.__class__(**{**w.line.settings.__dict__, "send_rate": 0.001})
    w.text(ORGANIZER, "BROADCAST Careful near the Zebra Motel tonight")
    waiting = pacing.pending(w.line)
    ids = [json.loads(e.split(b"|", 1)[1])["id"] for e in w.redis.lrange(pacing.BulkKeys.outbox, 0, -1)]
    assert waiting == len(ids) == 2, "one went at once, two wait their turn"
    gone, stays = (IVY, DAN) if any(i.endswith(w.line.store.pid_for(IVY)) for i in ids) else (DAN, IVY)
    w.take(gone), w.take(stays)
    w.text(gone, "WIPE YES")
    assert pacing.pending(w.line) == 1
    assert traces(w, gone) == []
    w.line.settings = w.line.settings.__class__(**{**w.line.settings.__dict__, "send_rate": 1000.0})
    pacing.drain(w.line)
    assert w.take(gone) == []
    assert "Line: Careful near the Zebra Motel tonight" in w.take(stays) + w.take(ROSE)


def test_a_word_under_a_key_no_longer_configured_is_logged_loudly(line, caplog):
    """Without SMSLINE_SECRET_KEY_OLD a word hashed under it cannot match: the operator is told how to fix it."""
    w = line
    w.text(ROSE, "SAFEWORD bluebird")
    new = "a-brand-new-secret-key"
    same_redis(w, secret_key=new, secret_key_old=w.line.settings.secret_key).app.test_cli_runner().invoke(
        args=["keys", "rotate"])
    rotated = same_redis(w, secret_key=new)  # the old key dropped too soon: one word still under it
    rotated.text(ROSE, "START 30")
    with caplog.at_level("WARNING", logger="smsline.covert"):
        rotated.text(ROSE, "OK bluebird")
    assert any("SMSLINE_SECRET_KEY_OLD" in r.getMessage() for r in caplog.records)
    assert all("bluebird" not in r.getMessage() and "4155550102" not in r.getMessage() for r in caplog.records)
