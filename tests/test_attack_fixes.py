"""Fixes for what an attacker trial found: the STOP oracle in invitations, the demo line's open webhooks,
replayed status callbacks, and aliases left in buddies' kept replies after a WIPE."""
from __future__ import annotations

import json

import pytest

from smsline import android
from smsline.store import Keys

from tests.conftest import BUDDY, MEMBER, ORGANIZER



def _as_member(w, target: str) -> list:
    seen = []
    seen.append(w.text(MEMBER, f"BUDDY {target} X"))
    seen.append(w.text(MEMBER, "BUDDIES"))
    seen.append(w.text(MEMBER, f"UNBUDDY {target}"))
    seen.append(w.text(MEMBER, "BUDDIES"))
    seen.append(w.text(MEMBER, f"BUDDY {target} X"))
    seen.append(w.text(MEMBER, "BUDDIES"))
    w.text(MEMBER, f"UNBUDDY {target}")  # so the next number's BUDDIES starts from the same list
    return seen


def _add(w, target: str) -> list:
    return [w.text(ORGANIZER, f"ADD {target} Ann"), w.text(ORGANIZER, f"ADD {target} Ann")]


def _organizer(w, target: str) -> list:
    return [w.text(ORGANIZER, f"ORGANIZER {target}"), w.text(ORGANIZER, f"ORGANIZER {target}")]


@pytest.mark.parametrize("how, last4", [(_as_member, "0406"), (_add, "0407"), (_organizer, "0408")])
def test_inviting_an_opted_out_number_reads_byte_for_byte_as_inviting_a_fresh_one(network, how, last4):
    """STOP oracle: BUDDY/UNBUDDY/BUDDIES, ADD, ORGANIZER answer alike whether a number sent STOP; it is texted nothing.

    Two numbers with the same last four digits (all a reply shows of them), one of which sent STOP."""
    w = network
    fresh, stopped = f"+1415556{last4}", f"+1415557{last4}"
    assert w.text(stopped, "STOP") == []
    w.take(stopped)
    got_fresh = how(w, fresh)
    got_stopped = how(w, stopped)
    assert got_fresh == got_stopped
    assert "sent to ..." + last4 in got_fresh[0][0] or "invited" in got_fresh[0][0].lower(), got_fresh[0]
    assert "Too many" not in str(got_fresh)
    if how is _as_member:
        assert got_fresh[1] == [f"Buddies: Sam ...0103, X ...{last4} (waiting)"]
    assert w.take(fresh), "the fresh number was invited"
    assert w.take(stopped) == [], "the opted-out number is texted nothing"


# 3. A captured status callback replayed later ---------------------------------------------------

def _status(w, sid: str, status: str, to: str, error: str = ""):
    r = w.client.post("/sms/status", data={"MessageSid": sid, "MessageStatus": status, "ErrorCode": error, "To": to})
    assert r.status_code == 204
    w.run_jobs()


def test_a_failure_after_delivery_or_a_replayed_callback_changes_nothing(network):
    """A replayed undelivered/30003 for an alert already delivered leaves it Reached, the buddy reachable, the member
    untold; replaying the same (MessageSid, MessageStatus) twice acts once."""
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    sid = [s for s in w.transport.sent if s.to == BUDDY][0].sid
    _status(w, sid, "delivered", BUDDY)
    assert "Reached: Sam" in w.reply(MEMBER, "STATUS")
    for n in (MEMBER, ORGANIZER, BUDDY):
        w.take(n)
    for _ in range(3):
        _status(w, sid, "undelivered", BUDDY, "30003")
    w.run_jobs()
    status = w.reply(MEMBER, "STATUS")
    assert "Reached: Sam" in status and "Not reached" not in status
    assert w.take(MEMBER) == [] and w.take(ORGANIZER) == [] and w.take(BUDDY) == []
    assert "cannot be reached" not in w.reply(MEMBER, "BUDDIES")


def test_a_replayed_failure_callback_is_acted_on_once(network):
    """The same signed undelivered callback posted again hands the alarm on once, not at each replay."""
    w = network
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    sid = [s for s in w.transport.sent if s.to == BUDDY][0].sid
    _status(w, sid, "undelivered", BUDDY, "30003")
    first = w.take(ORGANIZER) + w.take(MEMBER)
    assert any("checked in" in t for t in first)
    for _ in range(3):
        _status(w, sid, "undelivered", BUDDY, "30003")
    assert w.take(ORGANIZER) == [] and w.take(MEMBER) == []


# 2. A demo line (no Twilio account) takes its unsigned webhooks only from this machine ----------

ATTACKS = [
    {"base_url": "http://127.0.0.1:5000",
     "headers": {"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}},
    {"base_url": "http://127.0.0.1:5000", "headers": {"Sec-Fetch-Site": "cross-site"}},
    {"base_url": "http://127.0.0.1:5000", "headers": {"Origin": "https://attacker.example"}},
    {"base_url": "http://evil.example:5000", "headers": {}},  # DNS rebinding: the page's own name in Host
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_demo_webhooks_refuse_cross_site_posts_and_foreign_hosts_and_change_nothing(world, attack):
    """Without Twilio nothing is signed: /sms and /sms/status answer 403 to another site's form or another Host."""
    w = world
    target = "+14155550406"
    r = w.client.post("/sms", data={"From": ORGANIZER, "Body": f"ADD {target} Ann", "MessageSid": "SMx1"}, **attack)
    assert r.status_code == 403
    w.run_jobs()
    assert w.line.store.pid_for(target) is None and w.take(target) == []
    r = w.client.post("/sms/status", data={"MessageSid": "SMx2", "MessageStatus": "undelivered", "To": target},
                      **attack)
    assert r.status_code == 403
    assert w.redis.get(Keys.status.format(sid="SMx2")) is None
    # From this machine, as the simulator and Twilio-less tests post, the same text acts.
    r = w.client.post("/sms", data={"From": ORGANIZER, "Body": f"ADD {target} Ann", "MessageSid": "SMx3"},
                      base_url="http://127.0.0.1:5000", headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and b"0406" in r.data


@pytest.mark.parametrize("attack", ATTACKS)
def test_android_events_signed_with_the_demos_public_key_come_from_this_machine_only(world, attack):
    """The simulator's key is public: with no real ANDROID_GATEWAY_SIGNING_KEY, a signed event from elsewhere is a 403."""
    w = world
    assert android.signing_key(w.line.settings) == android.SIMULATOR_KEY

    def post(eid, **kw):
        raw = json.dumps({"event": "sms:received", "id": eid,
                          "payload": {"message": "ADD +14155550406 Ann", "sender": ORGANIZER}}).encode()
        stamp = str(int(w.now))
        headers = {"X-Timestamp": stamp, "X-Signature": android.sign(android.SIMULATOR_KEY, raw, stamp)}
        headers.update(kw.pop("headers", {}))
        return w.client.post("/sms/android", data=raw, content_type="application/json", headers=headers, **kw)

    assert post("e1", **attack).status_code == 403
    w.run_jobs()
    assert w.line.store.pid_for("+14155550406") is None
    assert post("e2", base_url="http://localhost").status_code == 204
    w.run_jobs()
    assert w.line.store.pid_for("+14155550406") is not None


# 4. WIPE also takes the member's name out of the replies kept for others --------------------------

def test_after_wipe_no_kept_reply_anywhere_names_the_wiped_member(world):
    """Sam's kept replies ("You are now a buddy of Zinnia", his ACK's answer) are emptied by Rose's WIPE, keeping
    the key so a redelivery of Sam's text is still not acted on twice; no opened sealed value holds "Zinnia"."""
    from tests.test_privacy import everything, opened

    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Zinnia")
    w.text(MEMBER, "JOIN")
    w.text(MEMBER, f"BUDDY {BUDDY} Sam")
    yes = w.post(BUDDY, "YES", sid="SMyes")
    assert b"Zinnia" in yes.data
    w.run_jobs()
    w.text(MEMBER, "START 5")
    w.advance(10.1)
    assert any("Zinnia" in t for t in w.take(BUDDY)), "Sam was alerted"
    ack = w.post(BUDDY, "ACK", sid="SMack")
    assert ack.status_code == 200
    w.run_jobs()

    def naming():
        return [k for k, v in opened(w, everything(w.redis)) if b"zinnia" in v.lower()]

    assert [k for k in naming() if k.startswith(b"sl:seen:")], "the scan finds the name in kept replies"
    ttl = w.redis.ttl(Keys.seen.format(sid="SMyes"))
    w.text(MEMBER, "WIPE")
    assert "erased" in " ".join(w.text(MEMBER, "WIPE YES"))
    assert naming() == []
    assert w.redis.exists(Keys.seen.format(sid="SMyes")), "the key stays"
    assert 0 < w.redis.ttl(Keys.seen.format(sid="SMyes")) <= ttl
    again = w.post(BUDDY, "YES", sid="SMyes")
    assert again.status_code == 200 and b"Zinnia" not in again.data and b"<Message>" not in again.data
