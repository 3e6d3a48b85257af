"""The MessageSid claim and the sender's record, read in one round trip (issue 7), on fakeredis and a real Redis."""
from __future__ import annotations

import json

import fakeredis
import pytest
import redis as redis_lib

from smsline import embedded_redis
from smsline.session import Timer
from smsline.store import Keys, Sender, Store
from tests.conftest import BUDDY, MEMBER, ORGANIZER
from tests.helpers import seed_member

SECRET = "test-secret"
SID = "SM" + "c" * 32


@pytest.fixture(scope="module")
def real_redis(tmp_path_factory):
    server = embedded_redis.start(str(tmp_path_factory.mktemp("claim") / "redis"))
    yield server
    server.stop()


@pytest.fixture(params=["fakeredis", "real"])
def store(request):
    if request.param == "fakeredis":
        r = fakeredis.FakeRedis()
    else:
        r = redis_lib.Redis.from_url(request.getfixturevalue("real_redis").url)
        r.flushall()
    return Store(r, SECRET)


def _member(store: Store, number: str, organizer: bool = False, timer: Timer | None = None) -> str:
    pid = seed_member(store, number, "Rose", lang="es", organizer=organizer, now=1.0)
    if timer is not None:
        store.r.set(Keys.timer.format(pid=pid), json.dumps(timer.to_dict()))
    return pid


def test_first_delivery_reads_the_sender_with_its_claim(store):
    """A first delivery gets the person id, record, both role flags and the timer back."""
    t = Timer(tid=3, version=7, status="running", started_at=10.0, ends_at=610.0, note="cafe")
    pid = _member(store, MEMBER, timer=t)
    sender, earlier = store.claim_inbound(SID, MEMBER)
    assert earlier is None
    assert sender.pid == pid and sender.member and not sender.organizer
    assert sender.person == {"number": MEMBER, "lang": "es", "alias": "Rose", "joined": "1.0"}
    assert sender.timer == t
    assert store.r.ttl(Keys.seen.format(sid=SID)) > 86400


def test_organizer_flag_and_no_timer(store):
    _member(store, ORGANIZER, organizer=True)
    sender, _ = store.claim_inbound(SID, ORGANIZER)
    assert sender.member and sender.organizer and sender.timer_raw is None and sender.timer is None


def test_a_repeated_message_sid_reads_nothing_and_gets_the_first_reply(store):
    """While the first delivery is handled a repeat gets b"" (an empty reply); after it, the stored reply."""
    _member(store, MEMBER)
    first, _ = store.claim_inbound(SID, MEMBER)
    assert first is not None
    assert store.claim_inbound(SID, MEMBER) == (None, b"")
    store.keep_reply(SID, ["Timer runs until 10:30pm."])
    sender, earlier = store.claim_inbound(SID, MEMBER)
    assert sender is None and json.loads(earlier) == ["Timer runs until 10:30pm."]


def test_an_unknown_number_still_claims_its_message_sid(store):
    sender, earlier = store.claim_inbound(SID, BUDDY)
    assert sender == Sender() and earlier is None
    assert store.r.keys("sl:n:*") == [] and store.r.keys("sl:p:*") == []
    assert store.claim_inbound(SID, BUDDY) == (None, b"")


def test_a_text_without_message_sid_is_never_taken_for_a_repeat(store):
    pid = _member(store, MEMBER)
    assert store.claim_inbound("", MEMBER)[0].pid == pid
    assert store.claim_inbound("", MEMBER)[0].pid == pid
    assert store.sender(MEMBER).pid == pid
    assert store.r.keys(Keys.seen.format(sid="*")) == []


def test_a_long_message_sid_is_claimed_by_its_first_64_characters(store):
    """As before the combined claim: the key holds at most 64 characters of the MessageSid."""
    long_sid = "SM" + "d" * 100
    assert store.claim_inbound(long_sid, MEMBER)[0] is not None
    assert store.claim_inbound(long_sid[:64] + "other", MEMBER) == (None, b"")


# Through the webhook (fakeredis) -------------------------------------------

def test_a_repeated_status_gets_nothing_new_and_a_repeated_start_the_stored_reply(network):
    """A redelivered (or replayed) question gets no reply, never the timer as it is now (issue 12); a text
    that acts is answered from the stored reply and acted on once."""
    w = network
    start_sid = "SM" + "4" * 32
    started = w.post(MEMBER, "START 30 corner cafe", sid=start_sid).data
    sid = "SM" + "5" * 32
    first = w.post(MEMBER, "STATUS", sid=sid).data
    assert b"until" in first
    w.text(MEMBER, "OK")
    assert b"<Message>" not in w.post(MEMBER, "STATUS", sid=sid).data
    assert w.post(MEMBER, "START 30 corner cafe", sid=start_sid).data == started
    assert w.timer(MEMBER) is not None and not w.timer(MEMBER).live  # not started again


def test_repeat_while_the_first_is_still_handled_gets_an_empty_reply_and_no_action(network, monkeypatch):
    """Beyond the wait for the first reply (the first handler is alive and slow), nothing is done twice."""
    from smsline import webhook

    monkeypatch.setattr(webhook, "REDELIVERY_WAIT", 0.3)
    w = network
    sid = "SM" + "6" * 32
    w.redis.set(Keys.seen.format(sid=sid), "", ex=60)  # the first delivery claimed it and is still running
    r = w.post(MEMBER, "SOS", sid=sid)
    w.run_jobs()
    assert r.status_code == 200 and b"<Message>" not in r.data
    assert w.timer(MEMBER) is None and w.take(BUDDY) == []


def test_texts_without_message_sid_are_each_acted_on(network):
    w = network
    for _ in range(2):
        r = w.client.post("/sms", data={"From": MEMBER, "Body": "HELP"})
        assert r.status_code == 200 and b"<Message>" in r.data
    assert w.redis.keys(Keys.seen.format(sid="*"))  # earlier texts of the fixture had MessageSids
    assert not w.redis.exists(Keys.seen.format(sid="none"))


def test_help_and_status_show_the_timer_read_with_the_claim(network):
    w = network
    w.text(MEMBER, "START 45")
    status, help_ = w.reply(MEMBER, "STATUS"), w.reply(MEMBER, "HELP")
    end = w.timer(MEMBER).ends_at
    from smsline.rendering import fmt_time

    assert fmt_time(w.line, end, w.now) in status and fmt_time(w.line, end, w.now) in help_
    w.text(MEMBER, "OK")
    assert fmt_time(w.line, end, w.now) not in w.reply(MEMBER, "HELP")


def test_a_sender_whose_record_is_gone_or_has_unusual_characters(store):
    """The person's fields come back as JSON: an empty record, and names beyond ASCII, survive the trip."""
    pid = _member(store, MEMBER)
    store.set_fields(pid, alias='Jos\u00e9 "Pepe" \\ \u20ac')
    sender, _ = store.claim_inbound(SID, MEMBER)
    assert sender.person["alias"] == 'Jos\u00e9 "Pepe" \\ \u20ac'
    store.r.delete(Keys.person.format(pid=pid))
    sender, _ = store.claim_inbound("SM" + "9" * 32, MEMBER)
    assert sender.pid == pid and sender.person == {}
