"""SMS Gateway for Android in-process: settings, signed events, dedupe, status mapping, failover."""
from __future__ import annotations

import pytest

from smsline import config

TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32, "SMSLINE_SECRET_KEY": "k" * 32}
ANDROID = {"ANDROID_GATEWAY_URL": "http://192.168.1.20:8080/", "ANDROID_GATEWAY_USER": "sms",
           "ANDROID_GATEWAY_PASSWORD": "pw", "ANDROID_GATEWAY_SIGNING_KEY": "sign", "SMSLINE_SECRET_KEY": "k" * 32}


# Settings -------------------------------------------------------------------

def test_gateways_default_to_twilio_when_twilio_is_configured():
    assert config.from_env(dict(TWILIO)).gateways == ("twilio",)
    assert config.from_env(dict(TWILIO, **ANDROID)).gateways == ("twilio",)


def test_a_phone_alone_is_the_gateway_when_only_it_is_configured():
    s = config.from_env(dict(ANDROID))
    assert s.gateways == ("android",)
    assert s.android_gateway_url == "http://192.168.1.20:8080"
    assert not s.simulator_enabled


def test_gateways_are_read_in_order_and_with_the_rate():
    s = config.from_env(dict(TWILIO, **ANDROID, SMSLINE_GATEWAYS=" Android , twilio", ANDROID_GATEWAY_RATE="0.5"))
    assert s.gateways == ("android", "twilio")
    assert s.gateway_rate("android") == 0.5 and s.gateway_rate("twilio") == s.send_rate


@pytest.mark.parametrize("missing", ["ANDROID_GATEWAY_URL", "ANDROID_GATEWAY_USER", "ANDROID_GATEWAY_PASSWORD",
                                     "ANDROID_GATEWAY_SIGNING_KEY"])
def test_android_without_each_of_its_settings_is_refused_naming_it(missing):
    env = dict(TWILIO, **ANDROID, SMSLINE_GATEWAYS="twilio,android")
    del env[missing]
    with pytest.raises(RuntimeError, match=missing):
        config.from_env(env)


@pytest.mark.parametrize("value", ["twilio,sms", "android,android", "carrier pigeon"])
def test_unknown_or_repeated_gateways_are_refused(value):
    with pytest.raises(RuntimeError, match="SMSLINE_GATEWAYS"):
        config.from_env(dict(TWILIO, **ANDROID, SMSLINE_GATEWAYS=value))


def test_twilio_named_without_an_account_is_refused():
    with pytest.raises(RuntimeError, match="TWILIO_ACCOUNT_SID"):
        config.from_env(dict(ANDROID, SMSLINE_GATEWAYS="android,twilio"))


def test_the_android_gateway_needs_a_secret_key():
    env = dict(ANDROID)
    del env["SMSLINE_SECRET_KEY"]
    with pytest.raises(RuntimeError, match="SMSLINE_SECRET_KEY"):
        config.from_env(env)


# Signed events ----------------------------------------------------------------

import itertools  # noqa: E402
import json  # noqa: E402

from smsline import android, gateways, jobs  # noqa: E402
from smsline.gateways import Failover  # noqa: E402
from smsline.transport import RecordingTransport, SendError  # noqa: E402
from tests.conftest import BUDDY, MEMBER, ORGANIZER, World  # noqa: E402
from tests.helpers import enroll_by_texts  # noqa: E402

KEY = "signing-key-from-the-app"
PHONE_SETTINGS = {"gateways": ("android",), "android_gateway_url": "http://127.0.0.1:1",
                  "android_gateway_user": "sms", "android_gateway_password": "pw", "android_gateway_signing_key": KEY}
_ids = itertools.count(1)


def post_event(w, kind: str, payload: dict, eid: str | None = None, ts: float | None = None, key: str = KEY,
               signature: str | None = None):
    """POST an event to /sms/android the way the app does: raw JSON body, X-Timestamp, X-Signature."""
    body = json.dumps({"deviceId": "dev1", "event": kind, "id": eid or f"ev{next(_ids)}", "payload": payload,
                       "webhookId": "wh1"}).encode()
    stamp = str(int(w.now if ts is None else ts))
    sig = android.sign(key, body, stamp) if signature is None else signature
    return w.client.post("/sms/android", data=body, content_type="application/json",
                         headers={"X-Timestamp": stamp, "X-Signature": sig})


def phone_text(w, number: str, body: str, eid: str | None = None) -> list[str]:
    """A text the phone received; returns what the line sent back to that number (through the phone)."""
    resp = post_event(w, "sms:received", {"messageId": "m1", "message": body, "sender": number,
                                          "recipient": "+15550009999", "simNumber": 1,
                                          "receivedAt": "2027-01-15T08:00:00.000+00:00"}, eid=eid)
    assert resp.status_code == 204, resp.data
    w.run_jobs()
    return w.take(number)


@pytest.fixture
def phone():
    """The line with the Android gateway alone; an organizer, member Rose and her buddy Sam, all by the phone."""
    w = World(PHONE_SETTINGS)
    enroll_by_texts(lambda n, b: phone_text(w, n, b), ORGANIZER, MEMBER, "Rose", BUDDY)
    for n in (ORGANIZER, MEMBER, BUDDY):
        w.take(n)
    return w


def test_a_text_through_the_phone_is_handled_like_a_twilio_one_and_answered_through_the_phone():
    w = World(PHONE_SETTINGS)
    assert post_event(w, "sms:received", {"messageId": "m", "message": f"ADD {MEMBER} Rose",
                                          "phoneNumber": ORGANIZER}).status_code == 204  # the older payload
    w.run_jobs()
    replies = [s for s in w.transport.sent if s.to == ORGANIZER]
    assert len(replies) == 1 and "Invitation sent" in replies[0].body and replies[0].via == "android"
    assert w.inbox(MEMBER) and "JOIN" in w.inbox(MEMBER)[0]  # the invitation went out
    assert w.line.store.pid_for(MEMBER)


def test_a_line_on_the_phone_alone_refuses_unsigned_twilio_webhooks():
    w = World(PHONE_SETTINGS)
    assert w.post(ORGANIZER, f"ADD {MEMBER} Rose").status_code == 403
    assert w.line.store.pid_for(MEMBER) is None


def test_a_whole_check_in_through_the_phone(phone):
    w = phone
    assert "ends" in " ".join(phone_text(w, MEMBER, "START 5")).lower() or w.timer(MEMBER).live
    w.advance(10.1)
    alert = w.take(BUDDY)
    assert len(alert) == 1 and "Rose" in alert[0]
    assert [s.kind for s in w.transport.sent if s.to == BUDDY] == []  # taken
    phone_text(w, BUDDY, "ACK")
    assert any("Sam" in t for t in w.take(MEMBER))
    phone_text(w, MEMBER, "OK")
    assert not w.timer(MEMBER).live
    assert len(w.take(BUDDY)) == 1  # the stand-down


def test_alerts_go_with_the_alert_kind_replies_with_the_text_kind(phone):
    w = phone
    phone_text(w, MEMBER, "START 5")
    w.advance(10.1)
    kinds = {s.to: s.kind for s in w.transport.sent}
    assert kinds[BUDDY] == "alert"
    assert android.PRIORITY["alert"] >= 100 > android.PRIORITY["text"] > android.PRIORITY["bulk"]


@pytest.mark.parametrize("how", ["forged", "wrong key", "stale", "future", "unsigned", "bad stamp", "not ascii"])
def test_forged_or_stale_events_are_refused_with_403_and_change_nothing(how):
    w = World(PHONE_SETTINGS)
    payload = {"messageId": "m1", "message": f"ADD {MEMBER} Rose", "sender": ORGANIZER}
    body = json.dumps({"event": "sms:received", "id": "evX", "payload": payload}).encode()
    stamp = str(int(w.now))
    headers = {"X-Timestamp": stamp, "X-Signature": android.sign(KEY, body, stamp)}
    if how == "forged":
        body = body.replace(b"Rose", b"Eve!")
    elif how == "wrong key":
        headers["X-Signature"] = android.sign("guess", body, stamp)
    elif how in ("stale", "future"):
        stamp = str(int(w.now + (-301 if how == "stale" else 301)))
        headers = {"X-Timestamp": stamp, "X-Signature": android.sign(KEY, body, stamp)}
    elif how == "unsigned":
        headers = {}
    elif how == "not ascii":
        headers["X-Signature"] = "\u00e9" * 64
    else:
        headers["X-Timestamp"] = "soon"
    keys_before = set(w.redis.keys("sl:*"))
    resp = w.client.post("/sms/android", data=body, content_type="application/json", headers=headers)
    w.run_jobs()
    assert resp.status_code == 403
    assert w.transport.sent == [] and set(w.redis.keys("sl:*")) == keys_before


def test_a_timestamp_within_five_minutes_is_accepted():
    w = World(PHONE_SETTINGS)
    resp = post_event(w, "sms:received", {"messageId": "m", "message": "HELP", "sender": ORGANIZER}, ts=w.now - 290)
    assert resp.status_code == 204


def test_a_repeated_event_is_answered_2xx_and_acted_on_once():
    w = World(PHONE_SETTINGS)
    first = phone_text(w, ORGANIZER, f"ADD {MEMBER} Rose", eid="same-event")
    again = phone_text(w, ORGANIZER, f"ADD {MEMBER} Rose", eid="same-event")
    assert len(first) == 1 and again == []
    assert len(w.inbox(MEMBER)) == 1  # one invitation


def test_two_events_with_the_same_content_based_message_id_are_both_acted_on(phone):
    """The app's messageId for received texts is content-based: the event id is what tells texts apart."""
    w = phone
    assert phone_text(w, MEMBER, "STATUS", eid="e1") and phone_text(w, MEMBER, "STATUS", eid="e2")


def _alert_sid(w):
    return [s for s in w.transport.sent if s.to == BUDDY][-1].sid


def test_a_failed_alert_reported_by_the_phone_is_handed_on_and_the_member_told(phone):
    w = phone
    phone_text(w, MEMBER, "START 5")
    w.advance(10.1)
    sid = _alert_sid(w)
    w.take(BUDDY), w.take(MEMBER)
    payload = {"messageId": sid, "recipient": BUDDY, "reason": "RESULT_ERROR_GENERIC_FAILURE"}
    assert post_event(w, "sms:failed", payload, eid="f1").status_code == 204
    w.run_jobs()
    assert any("checked in" in t for t in w.take(ORGANIZER))
    assert any("could not reach" in t or "can be reached" in t for t in w.take(MEMBER))
    assert post_event(w, "sms:failed", payload, eid="f1").status_code == 204  # the app's retry
    w.run_jobs()
    assert w.take(ORGANIZER) == [] and w.take(MEMBER) == []
    assert "Not reached: Sam" in " ".join(phone_text(w, MEMBER, "STATUS"))


def test_a_delivered_event_is_recorded_like_a_twilio_callback(phone):
    w = phone
    phone_text(w, MEMBER, "START 5")
    w.advance(10.1)
    post_event(w, "sms:sent", {"messageId": _alert_sid(w), "recipient": BUDDY, "partsCount": 2})
    post_event(w, "sms:delivered", {"messageId": _alert_sid(w), "recipient": BUDDY})
    assert "Reached: Sam" in " ".join(phone_text(w, MEMBER, "STATUS"))


def test_events_the_line_does_not_use_are_acknowledged():
    w = World(PHONE_SETTINGS)
    assert post_event(w, "system:ping", {"health": {}}).status_code == 204
    for body in (b"[]", b"{not json", b'{"event": "sms:received", "id": "e", "payload": [1]}'):
        stamp = str(int(w.now))
        resp = w.client.post("/sms/android", data=body, content_type="application/json",
                             headers={"X-Timestamp": stamp, "X-Signature": android.sign(KEY, body, stamp)})
        assert resp.status_code == 204


# Failover ---------------------------------------------------------------------

class Gateway(RecordingTransport):
    """A recording gateway that can refuse everything (`down`), as a suspended account or a dead phone does."""

    def __init__(self, name: str):
        super().__init__()
        self.name, self.down = name, None

    def _record(self, to, body, kind, via):
        if self.down is not None:
            raise self.down
        return super()._record(to, body, kind, via)


def two_gateways(w, order=("twilio", "android")):
    """Put a Failover over two recording gateways in place of the world's transport."""
    gws = {name: Gateway(name) for name in order}
    w.line.transport = Failover(w.redis, [(n, gws[n]) for n in order], clock=lambda: w.now)
    gateways.attach(w.line)
    return gws


def texts_to(gws, number):
    return {name: [s.body for s in g.sent if s.to == number] for name, g in gws.items()}


@pytest.fixture
def both(network):
    gws = two_gateways(network)
    return network, gws


def test_twilio_refusing_the_account_at_the_alarm_sends_the_alert_through_the_phone_at_once(both):
    w, gws = both
    gws["twilio"].down = SendError(20003, 401, False)
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    got = texts_to(gws, BUDDY)
    assert got["twilio"] == [] and len(got["android"]) == 1 and "Rose" in got["android"][0]
    told = [b for b in texts_to(gws, ORGANIZER)["android"] if "cannot send" in b]
    assert len(told) == 1 and "Twilio" in told[0]
    health = w.client.get("/healthz").get_data(as_text=True)
    assert "gateway twilio: down" in health and "gateway android: up" in health
    w.advance(10.1)  # the repeat: straight to the phone, organizers not told again
    assert len(texts_to(gws, BUDDY)["android"]) == 2
    assert len([b for b in texts_to(gws, ORGANIZER)["android"] if "cannot send" in b]) == 1


def test_a_few_seconds_of_5xx_is_retried_on_the_same_gateway_over_30_s_it_fails_over(both):
    w, gws = both
    w.reply(MEMBER, "START 5")
    w.advance(9.9)
    gws["twilio"].down = SendError(None, 503, True)  # from the alarm moment on
    w.advance(0.2)
    assert texts_to(gws, BUDDY) == {"twilio": [], "android": []}  # pending, not handed on yet
    pid, tid = w.line.store.pid_for(MEMBER), w.timer(MEMBER).tid
    w.now += gateways.FAILING_SECONDS + 1
    jobs.deliver_round(pid, tid, 1, now=w.now)
    assert len(texts_to(gws, BUDDY)["android"]) == 1


def test_the_line_goes_back_to_the_first_gateway_once_it_works_again(both):
    w, gws = both
    gws["twilio"].down = SendError(20003, 401, False)
    w.reply(MEMBER, "STATUS")  # a notice or reply is enough to find it down
    w.line.transport.send_many([(BUDDY, "one")])
    assert "down" in w.line.transport.fresh_states()["twilio"]
    gws["twilio"].down = None
    w.line.transport.send_many([(BUDDY, "two")])
    assert texts_to(gws, BUDDY)["android"] == ["one", "two"]  # not tried again before PROBE_SECONDS
    w.now += gateways.PROBE_SECONDS + 1
    w.line.transport.send_many([(BUDDY, "three")])
    assert texts_to(gws, BUDDY)["twilio"] == ["three"]
    assert not w.line.transport.fresh_states()["twilio"]
    w.run_jobs()
    assert len([b for b in texts_to(gws, ORGANIZER)["android"] + texts_to(gws, ORGANIZER)["twilio"]
                if "again" in b]) == 1
    assert "gateway twilio: up" in w.client.get("/healthz").get_data(as_text=True)


def test_an_alert_never_probes_a_gateway_that_is_down(both):
    w, gws = both
    w.line.transport.mark_down("twilio", "test", 0)
    w.line.transport.send_many([(BUDDY, "alert")], kind="alert")
    assert texts_to(gws, BUDDY) == {"twilio": [], "android": ["alert"]}


def test_carrier_filtering_reported_on_an_alert_sends_it_again_through_the_phone(both):
    w, gws = both
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    sid = [s for s in gws["twilio"].sent if s.to == BUDDY][-1].sid
    w.client.post("/sms/status", data={"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30007",
                                       "To": BUDDY})
    w.run_jobs()
    assert len(texts_to(gws, BUDDY)["android"]) == 1
    assert "carriers filter" in w.client.get("/healthz").get_data(as_text=True)


def test_a_member_who_texts_the_phone_is_answered_from_the_phone_even_with_twilio_first(both):
    w, gws = both
    w.line.settings = w.line.settings.__class__(**{**w.line.settings.__dict__, "android_gateway_signing_key": KEY,
                                                   "gateways": ("twilio", "android")})
    post_event(w, "sms:received", {"messageId": "m", "message": "STATUS", "sender": MEMBER})
    w.run_jobs()
    assert len(texts_to(gws, MEMBER)["android"]) == 1 and texts_to(gws, MEMBER)["twilio"] == []


def test_with_a_single_gateway_a_refusal_is_named_in_healthz_and_organizers_are_told_when_it_returns():
    w = World(PHONE_SETTINGS)
    gws = two_gateways(w, order=("android",))
    gws["android"].down = SendError(None, 401, False)
    w.line.transport.send_many([(BUDDY, "x")])
    assert "gateway android: down" in w.client.get("/healthz").get_data(as_text=True)


# The CLI ----------------------------------------------------------------------

def test_gateway_register_without_a_public_url_says_what_to_set():
    w = World(PHONE_SETTINGS)
    out = w.app.test_cli_runner().invoke(args=["gateway", "register"])
    assert out.exit_code != 0 and "SMSLINE_PUBLIC_URL" in out.output


def test_gateway_register_with_the_phone_off_says_so_without_a_traceback():
    w = World(dict(PHONE_SETTINGS, public_url="https://line.example.org"))
    out = w.app.test_cli_runner().invoke(args=["gateway", "register"])
    assert out.exit_code != 0 and "did not answer" in out.output and "Traceback" not in out.output


def test_gateway_status_names_each_gateway():
    w = World(PHONE_SETTINGS)
    two_gateways(w)
    w.line.transport.mark_down("twilio", "refused (20003)", 30)
    out = w.app.test_cli_runner().invoke(args=["gateway", "status"])
    assert "gateway twilio: down" in out.output and "20003" in out.output and "gateway android: up" in out.output


def test_filtering_reported_on_a_notice_does_not_move_the_line(both):
    w, gws = both
    gws["twilio"].sent.clear()
    w.reply(MEMBER, "TEST")
    sid = [s for s in gws["twilio"].sent if s.to == BUDDY][-1].sid
    w.client.post("/sms/status", data={"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30007"})
    assert not w.line.transport.fresh_states()["twilio"]


def test_make_run_with_only_the_phone_keeps_the_real_clock_and_no_demo_organizer():
    """`make run` gives a demo organizer and a fast clock only when no gateway reaches real phones."""
    from smsline.run import demo_defaults

    env = {"ANDROID_GATEWAY_URL": "http://192.168.1.20:8080", "SMSLINE_GATEWAYS": "android"}
    assert demo_defaults(env) == [] and "SMSLINE_SECONDS_PER_MINUTE" not in env and "SMSLINE_ORGANIZERS" not in env
    assert demo_defaults({"ANDROID_GATEWAY_URL": "http://192.168.1.20:8080"}) == []
    assert demo_defaults({}) != []


# The transport, against the stand-in ----------------------------------------------

from tests.android_standin import AndroidStandIn  # noqa: E402


def _phone_transport(phone, **extra):
    from smsline.android import AndroidTransport

    settings = config.override(config.Settings(), {
        "gateways": ("android",), "android_gateway_url": phone.url, "android_gateway_user": phone.user,
        "android_gateway_password": phone.password, "android_gateway_signing_key": phone.signing_key, **extra})
    return AndroidTransport(settings)


def test_the_transport_sends_through_the_client_library_with_priorities():
    with AndroidStandIn() as phone:
        t = _phone_transport(phone)
        try:
            got = t.send_many([(MEMBER, "alert one"), (BUDDY, "alert two")], kind="alert")
            assert all(isinstance(g, str) for g in got)
            t.send_many([(MEMBER, "a reply")])
            t.send_many([(MEMBER, "a broadcast")], kind="bulk")
            by_body = {x.body: x for x in phone.texts()}
            assert by_body["alert one"].priority == 100 and by_body["alert one"].id == got[0]
            assert by_body["a reply"].priority == 50 and by_body["a broadcast"].priority == 0
            assert by_body["alert one"].ttl == 600 and by_body["a reply"].ttl is None  # expires by the repeat
        finally:
            t.close()


@pytest.mark.parametrize("status, retryable, refusal", [(401, False, True), (403, False, True), (503, True, False),
                                                       (500, True, False), (400, False, False)])
def test_the_phones_errors_map_onto_the_same_rules_as_twilios(status, retryable, refusal):
    with AndroidStandIn() as phone:
        phone.fail_status = status
        t = _phone_transport(phone)
        try:
            err = t.send_many([(MEMBER, "x")])[0]
            assert isinstance(err, SendError) and err.status == status and err.retryable is retryable
            assert gateways._refusal(err) is refusal and not err.ambiguous
        finally:
            t.close()


def test_a_phone_that_cannot_be_reached_is_a_retryable_error_that_sent_nothing():
    with AndroidStandIn() as phone:
        t = _phone_transport(phone, android_gateway_url="http://127.0.0.1:9")
        try:
            err = t.send_many([(MEMBER, "x")])[0]
            assert isinstance(err, SendError) and err.retryable and not err.ambiguous
        finally:
            t.close()


class _RedisDown:
    """A Redis that cannot be reached."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("redis is down")
        return fail


def test_without_redis_texts_still_go_in_order_and_a_refusal_is_still_handed_on():
    gws = {n: Gateway(n) for n in ("twilio", "android")}
    failover = Failover(_RedisDown(), [(n, gws[n]) for n in ("twilio", "android")])
    assert isinstance(failover.send_many([(BUDDY, "one")], kind="alert")[0], str)
    gws["twilio"].down = SendError(20003, 401, False)
    assert isinstance(failover.send_many([(BUDDY, "two")], kind="alert")[0], str)
    assert texts_to(gws, BUDDY) == {"twilio": ["one"], "android": ["two"]}


# The simulator: a choice of gateway ---------------------------------------------------

def test_the_simulator_can_text_the_lines_phone_and_the_answer_comes_from_the_phone(make_world):
    from smsline.transport import LocalTransport

    w = make_world()
    w.line.transport = LocalTransport(w.redis)
    assert 'id="gateway"' in w.client.get("/simulator").get_data(as_text=True)
    r = w.client.post("/simulator/send", json={"from": ORGANIZER, "body": "HELP", "gateway": "android"})
    assert r.status_code == 200
    w.run_jobs()
    entries = w.client.get("/simulator/log?after=0").get_json()["entries"]
    sent_in = [e for e in entries if e["dir"] == "in"]
    out = [e for e in entries if e["dir"] == "out" and e["number"] == ORGANIZER]
    assert sent_in[-1]["via"] == "android" and out and all(e.get("via") == "android" for e in out)
    r = w.client.post("/simulator/send", json={"from": ORGANIZER, "body": "HELP"})  # the Twilio number, as before
    assert r.status_code == 200 and r.get_json()["replies"]


def test_the_simulator_key_is_refused_once_a_real_gateway_is_configured():
    w = World(PHONE_SETTINGS)
    assert post_event(w, "sms:received", {"message": "HELP", "sender": ORGANIZER}, key=android.SIMULATOR_KEY
                      ).status_code == 403
