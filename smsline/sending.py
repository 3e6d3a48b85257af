"""Texts that are not alerts (notices, invitations, broadcasts), each sent at most once.

Every such text has an id. `send_once` claims `sl:sent:<id>` before sending it,
so two workers, a retried job or a resumed chain never send it twice; sends go
out a chunk at a time and each chunk is recorded as soon as Twilio answers it,
so a worker that dies mid-batch leaves at most one chunk claimed and unrecorded.
Such a claim lapses after CLAIM_SECONDS and the text is tried again: a text is
only ever sent twice when Twilio took it and the answer was lost.

A text waiting to go (a job's, the outbox's, a bulk batch's) is kept sealed
and names its recipient by person id, never by number: `seal_text` makes that
record and `open_texts` looks the number up at send time. A recipient erased
by WIPE meanwhile is simply not texted. Jobs carry message ids only.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from .phones import mask
from .leases import give_back, take_leases
from .store import DAY, Keys
from .transport import OPTED_OUT, PERMANENT, TEXT

log = logging.getLogger(__name__)

CLAIM_SECONDS = 30  # a claimed text whose worker died is sent again after this (Twilio timeout is 10 s)


def seal_text(line, text) -> dict:
    """A text (rendering.Outgoing) as it waits in Redis: its id, and the rest sealed, the recipient by id."""
    payload = {"body": text.body, "ref": text.ref}
    if text.via:
        payload["via"] = text.via  # a reply goes back by the gateway its text came by
    if text.pid:
        payload["pid"] = text.pid
    else:
        payload["to"] = text.to  # a text with no person record behind it (tests, tools)
    return {"id": text.id, "s": line.store.sealer.seal(json.dumps(payload), "text")}


def open_texts(line, stored: list[dict]) -> tuple[list[dict], list[dict]]:
    """Sealed texts made ready for send_once (to, body, ref added), and those whose recipient is gone."""
    sealer, ready, gone = line.store.sealer, [], []
    # A text queued before sealing (in flight across the upgrade) carries to and body itself.
    payloads = [json.loads(sealer.open(t["s"], "text")) if "s" in t else t for t in stored]
    pids = [p["pid"] for p in payloads if p.get("pid")]
    numbers = {}
    if pids:
        with line.redis.pipeline(transaction=False) as pipe:
            for pid in pids:
                pipe.hget(Keys.person.format(pid=pid), "number")
            numbers = {pid: n.decode() for pid, n in zip(pids, pipe.execute()) if n}
    for t, p in zip(stored, payloads):
        to = p.get("to") or numbers.get(p.get("pid"))
        if to:
            ready.append({**t, "to": to, "body": p["body"], "ref": p.get("ref"),
                          **({"via": p["via"]} if p.get("via") else {})})
        else:
            gone.append(t)
    return ready, gone


def stored_form(text: dict) -> dict:
    """What open_texts added, taken off again (to keep a text waiting); a text from before sealing stays whole."""
    if "s" not in text:
        return dict(text)
    return {k: v for k, v in text.items() if k not in ("to", "body", "ref", "via")}


@dataclass
class Outcome:
    """What became of each text handed to send_once (the text dicts themselves)."""

    sent: list = field(default_factory=list)  # accepted by Twilio
    done: list = field(default_factory=list)  # failed for good, opted out, or finished by an earlier attempt
    retry: list = field(default_factory=list)  # not accepted yet (5xx, 429, network): worth another try
    busy: list = field(default_factory=list)  # claimed by another sender (or one that died): look again later

    @property
    def finished(self) -> list:
        return self.sent + self.done


def send_once(line, texts: list[dict], kind: str = TEXT) -> Outcome:
    """Send texts ({"id", "to", "body", optional "ref" and "via"}) at most once each; see the module's docstring.

    `kind` tells gateways that order their own queue what these are (transport.TEXT or BULK)."""
    out = Outcome()
    if not texts:
        return out
    r, store = line.redis, line.store
    claims = [Keys.sent.format(mid=t["id"]) for t in texts]
    with r.pipeline(transaction=False) as pipe:
        for t, claim in zip(texts, claims):
            pipe.sismember(Keys.optout, store.number_hash(t["to"]))
            pipe.set(claim, "sending", nx=True, ex=CLAIM_SECONDS)
        got = pipe.execute()
    todo, others = [], []
    with r.pipeline(transaction=False) as pipe:
        for t, claim, opted_out, mine in zip(texts, claims, got[0::2], got[1::2]):
            if mine and opted_out:
                pipe.set(claim, f"failed:{OPTED_OUT}", ex=2 * DAY)  # never to a number that said stop
                out.done.append(t)
            elif mine:
                todo.append(t)
            else:
                others.append(t)
        for t in others:
            pipe.get(Keys.sent.format(mid=t["id"]))
        answers = pipe.execute()
    states = answers[len(answers) - len(others):]
    for t, state in zip(others, states):
        (out.busy if state is None or state.startswith(b"sending") else out.done).append(t)
    size = max(1, line.settings.send_concurrency)
    by_via: dict = {}
    for t in todo:  # a reply goes out through the gateway its text came in by, when it can
        by_via.setdefault(t.get("via"), []).append(t)
    for via, group in by_via.items():
        i = 0
        while i < len(group):
            # Room in flight is the account's (leases.LEASES, shared with the alert senders of every worker).
            leases = take_leases(line, min(size, len(group) - i))
            n = max(1, len(leases))  # none after waiting long: one goes anyway, rather than never
            try:
                _send_chunk(line, group[i:i + n], out, kind, via)
            finally:
                give_back(line, leases)
            i += n
    return out


def _send_chunk(line, chunk: list[dict], out: Outcome, kind: str = TEXT, via: str | None = None) -> None:
    results = line.transport.send_many([(t["to"], t["body"]) for t in chunk],
                                       status_callback=line.status_callback(), kind=kind, via=via)
    refused = []  # refused for good (a landline, an invalid number): nobody can text them
    with line.redis.pipeline(transaction=False) as pipe:
        for t, res in zip(chunk, results):
            claim = Keys.sent.format(mid=t["id"])
            if isinstance(res, str):
                pipe.set(claim, "sent", ex=2 * DAY)
                if t.get("ref"):
                    pipe.set(Keys.sid_ref.format(sid=res), json.dumps(t["ref"]), ex=2 * DAY)
                out.sent.append(t)
                continue
            log.warning("text to %s not accepted: %s", mask(t["to"]), res)
            if res.ambiguous:
                out.retry.append(t)  # Twilio may have it: the claim stays until it lapses, then one more try
            elif res.retryable:
                pipe.delete(claim)
                out.retry.append(t)
            else:
                pipe.set(claim, f"failed:{res.code}", ex=2 * DAY)
                out.done.append(t)
                if res.code in PERMANENT:
                    refused.append((t["to"], res.code))
        pipe.execute()
    if refused:
        for to, code in refused:
            line.on_delivery(line, to, "failed", str(code or ""), line.now())
