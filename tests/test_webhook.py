"""The HTTP edges: signatures, TwiML, status callbacks, health, and the organizer CLI."""
from __future__ import annotations

import json

import pytest
from twilio.request_validator import RequestValidator

from smsline import jobs
from smsline.store import Keys
from tests.conftest import MEMBER, ORGANIZER, World
from tests.helpers import twiml_texts

TOKEN = "test-token"
PUBLIC = "https://line.example.org"


@pytest.fixture
def signed_world(make_world):
    return make_world({"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": TOKEN, "public_url": PUBLIC,
                       "twilio_from_number": "+15005550006"})


def _signed_post(w: World, path: str, form: dict, url: str | None = None):
    sig = RequestValidator(TOKEN).compute_signature(url or PUBLIC + path, form)
    return w.client.post(path, data=form, headers={"X-Twilio-Signature": sig})


def test_signature_checked_against_public_url_behind_a_proxy(signed_world):
    """Flask sees http://localhost, but the signature covers SMSLINE_PUBLIC_URL: it must pass."""
    form = {"From": ORGANIZER, "Body": "HELP", "MessageSid": "SM" + "1" * 32}
    r = _signed_post(signed_world, "/sms", form)
    assert r.status_code == 200 and b"<Message>" in r.data


def test_bad_or_missing_signature_is_403_and_changes_nothing(signed_world):
    w = signed_world
    before = sorted(w.redis.keys("*"))
    form = {"From": ORGANIZER, "Body": f"ADD {MEMBER}", "MessageSid": "SM" + "2" * 32}
    assert w.client.post("/sms", data=form).status_code == 403
    assert _signed_post(w, "/sms", form, url="http://localhost/sms").status_code == 403
    assert w.client.post("/sms", data=form, headers={"X-Twilio-Signature": "x"}).status_code == 403
    assert sorted(w.redis.keys("*")) == before
    assert w.client.post("/sms/status", data={"MessageSid": "SM1", "MessageStatus": "failed"}).status_code == 403


def test_status_callback_is_recorded(signed_world):
    w = signed_world
    form = {"MessageSid": "SM" + "3" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003", "To": MEMBER}
    assert _signed_post(w, "/sms/status", form).status_code == 204
    rec = json.loads(w.redis.get(Keys.status.format(sid="SM" + "3" * 32)))
    assert rec["status"] == "undelivered" and rec["error"] == "30003"


def test_healthz_needs_redis_and_a_scheduler_heartbeat(world):
    r = world.client.get("/healthz")
    assert r.status_code == 503 and b"worker" in r.data
    jobs.heartbeat()
    assert world.client.get("/healthz").status_code == 200
    world.redis.set(Keys.heartbeat, str(world.now - 1000))
    assert world.client.get("/healthz").status_code == 503


def test_healthz_says_when_redis_is_down(world):
    class Down:
        def ping(self):
            raise ConnectionError("down")

    world.line.redis = Down()
    r = world.client.get("/healthz")
    assert r.status_code == 503 and b"redis" in r.data


def test_twiml_reply_and_oversized_body(world):
    r = world.post(ORGANIZER, "x" * 2000)
    assert r.status_code == 200 and r.mimetype == "application/xml"
    r = world.client.post("/sms", data={"From": ORGANIZER, "Body": "y" * 100_000})
    assert r.status_code in (200, 413)


def test_cli_adds_an_organizer(world):
    runner = world.app.test_cli_runner()
    result = runner.invoke(args=["organizer", "add", "415 555 0177"])
    assert result.exit_code == 0 and "...0177" in result.output and "4155550177" not in result.output
    pid = world.line.store.pid_for("+14155550177")
    assert world.line.store.is_organizer(pid) and world.line.store.is_member(pid)
    bad = runner.invoke(args=["organizer", "add", "12"])
    assert bad.exit_code != 0


def test_opt_out_is_silent_and_keeps_the_timer(world):
    world.text(ORGANIZER, f"ADD {MEMBER}")
    world.text(MEMBER, "JOIN")
    world.text(MEMBER, "START 30")
    assert world.text(MEMBER, "STOP") == []
    assert world.timer(MEMBER).live
    assert world.line.store.opted_out(MEMBER)
    world.text(MEMBER, "START")
    assert not world.line.store.opted_out(MEMBER)


def test_organizers_are_told_once_when_workers_stop_and_once_when_back(world):
    from smsline import monitor

    jobs.heartbeat()
    assert monitor.check(world.line) is None
    world.now += 121
    assert monitor.check(world.line) == "down"
    assert monitor.check(world.line) is None
    down = world.take(ORGANIZER)
    assert len(down) == 1 and "cannot raise alarms" in down[0]
    jobs.heartbeat()
    assert monitor.check(world.line) == "up"
    assert monitor.check(world.line) is None
    assert len(world.take(ORGANIZER)) == 1


def test_a_redelivery_after_the_first_handler_died_is_acted_on(network, monkeypatch):
    """The web process died after claiming an SOS: Twilio's redelivery must not get an empty reply and nothing."""
    from smsline import webhook
    from tests.conftest import BUDDY

    w = network
    monkeypatch.setattr(webhook, "HANDLING_SECONDS", 1)
    sid = "SM" + "d" * 32
    w.line.store.claim_inbound(sid, MEMBER, ttl=1)  # claimed; its handler never finished
    resp = w.post(MEMBER, "SOS", sid=sid)
    assert resp.status_code == 200 and twiml_texts(resp.data)  # acted on, with its reply
    w.run_jobs()
    assert len([t for t in w.take(BUDDY) if "Rose" in t]) == 1
    again = w.post(MEMBER, "SOS", sid=sid)  # and once only
    assert twiml_texts(again.data) == twiml_texts(resp.data)
    w.run_jobs()
    assert w.take(BUDDY) == []


def test_a_redelivery_while_the_first_is_handled_waits_for_its_reply(network):
    import threading

    from tests.conftest import BUDDY

    w = network
    sid = "SM" + "e" * 32
    w.line.store.claim_inbound(sid, MEMBER, ttl=8)  # the first delivery, still being handled
    threading.Timer(0.3, w.line.store.keep_reply, args=(sid, ["the first reply"])).start()
    resp = w.post(MEMBER, "SOS", sid=sid)
    assert twiml_texts(resp.data) == ["the first reply"]
    w.run_jobs()
    assert w.take(BUDDY) == []  # the redelivery did not act a second time


def test_a_members_question_keeps_a_small_record_and_a_redelivery_gets_nothing_new(network):
    """HELP and STATUS are deduplicated like any text (issue 12), in the claim's own round trip: the record
    kept is "[]", not the reply, and a redelivery or replay gets no reply rather than the timer as it is now."""
    w = network
    sid = "SM" + "7" * 32
    first = w.post(MEMBER, "STATUS", sid=sid)
    again = w.post(MEMBER, "STATUS", sid=sid)
    assert twiml_texts(first.data) and twiml_texts(again.data) == []
    assert w.redis.get(Keys.seen.format(sid=sid)) == b"[]"
    assert twiml_texts(w.post(MEMBER, "HELP", sid="SM" + "8" * 32).data)
    assert w.redis.get(Keys.seen.format(sid="SM" + "8" * 32)) == b"[]"


def test_texts_that_act_and_screened_members_still_claim_their_message_sid(network):
    from tests.conftest import BUDDY

    w = network
    w.post(MEMBER, "START 30", sid="SM" + "1" * 32)
    assert w.redis.exists(Keys.seen.format(sid="SM" + "1" * 32))
    w.post(BUDDY, "STATUS", sid="SM" + "2" * 32)  # a buddy, not a member: the careful path
    assert w.redis.exists(Keys.seen.format(sid="SM" + "2" * 32))
    w.text(MEMBER, "SAFEWORD bluebird")
    w.post(MEMBER, "STATUS", sid="SM" + "3" * 32)  # a member whose words are screened
    assert w.redis.exists(Keys.seen.format(sid="SM" + "3" * 32))
