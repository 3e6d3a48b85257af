"""send_once: notices, invitations and broadcasts go at most once, through retries, other senders and crashes."""
from __future__ import annotations

import pytest

from smsline.sending import send_once
from smsline.store import Keys
from smsline.transport import SendError


def _texts(n: int, prefix: str = "n") -> list[dict]:
    return [{"id": f"{prefix}{i}", "to": f"+1415666{i:04d}", "body": f"notice {i}"} for i in range(n)]


def _state(w, text) -> bytes | None:
    return w.redis.get(Keys.sent.format(mid=text["id"]))


def _lapse_claims(w, texts) -> None:
    """What CLAIM_SECONDS does to the claims of a sender that died."""
    for t in texts:
        if (_state(w, t) or b"").startswith(b"sending"):
            w.redis.delete(Keys.sent.format(mid=t["id"]))


def test_each_text_goes_once_however_often_it_is_handed_over(world):
    texts = _texts(3)
    first, again = send_once(world.line, texts), send_once(world.line, texts)
    assert len(first.sent) == 3 and again.sent == [] and len(again.done) == 3
    assert sorted(s.to for s in world.transport.sent) == sorted(t["to"] for t in texts)


def test_a_text_another_sender_holds_is_busy_and_goes_once_its_claim_lapses(world):
    text = _texts(1)[0]
    world.redis.set(Keys.sent.format(mid=text["id"]), "sending")
    out = send_once(world.line, [text])
    assert out.busy == [text] and world.transport.sent == []
    _lapse_claims(world, [text])
    assert send_once(world.line, [text]).sent == [text]


def test_not_accepted_yet_is_retried_and_refused_for_good_is_not(world):
    retry, refused = _texts(2)
    world.transport.fail[retry["to"]] = SendError(None, 503, True)
    world.transport.fail[refused["to"]] = SendError(21211, 400, False)
    out = send_once(world.line, [retry, refused])
    assert out.retry == [retry] and out.done == [refused]
    assert _state(world, retry) is None and _state(world, refused) == b"failed:21211"
    world.transport.fail.clear()
    again = send_once(world.line, [retry, refused])
    assert again.sent == [retry] and again.done == [refused]
    assert [s.to for s in world.transport.sent] == [retry["to"]]


def test_an_answer_lost_keeps_the_claim_so_it_is_not_sent_again_at_once(world):
    text = _texts(1)[0]
    world.transport.fail[text["to"]] = SendError(None, None, True, "ServerDisconnectedError", ambiguous=True)
    assert send_once(world.line, [text]).retry == [text]
    world.transport.fail.clear()
    assert send_once(world.line, [text]).busy == [text] and world.transport.sent == []
    _lapse_claims(world, [text])  # Twilio may not have had it after all: one more try, after the claim lapses
    assert send_once(world.line, [text]).sent == [text]


def test_a_number_that_said_stop_is_never_texted(world):
    text = _texts(1)[0]
    world.line.redis.sadd(Keys.optout, world.line.store.number_hash(text["to"]))
    out = send_once(world.line, [text])
    assert out.done == [text] and world.transport.sent == []
    assert _state(world, text) == b"failed:21610"


def test_a_sender_dying_mid_batch_leaves_the_answered_chunks_recorded(world):
    """Chunks are recorded as Twilio answers them: after a crash only the unanswered chunk goes again."""
    world.line.settings = world.line.settings.__class__(**{**world.line.settings.__dict__, "send_concurrency": 4})
    texts = _texts(10)
    calls = {"n": 0}
    send_many = world.transport.send_many

    def dies_on_second_chunk(batch, status_callback=None, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return send_many(batch, status_callback, **kw)

    world.transport.send_many = dies_on_second_chunk
    with pytest.raises(SystemExit):
        send_once(world.line, texts)
    assert [_state(world, t) for t in texts[:4]] == [b"sent"] * 4
    world.transport.send_many = send_many
    _lapse_claims(world, texts)
    out = send_once(world.line, texts)
    assert len(out.sent) == 6 and len(out.done) == 4
    assert sorted(s.to for s in world.transport.sent) == sorted(t["to"] for t in texts)  # each once
