"""REPORT, CHECK, APPROVE, REJECT, REPORTS, BROADCAST, RIGHTS and CARD: what the network shares."""
from __future__ import annotations

import logging
import re
import secrets

import phonenumbers

from .. import messages, pacing
from ..gsm7 import fold, segments, septets
from ..line import DEFAULT
from ..notices import enqueue_texts
from ..phones import mask
from ..reports import (CARD_CONFIRM_MINUTES, CHECKS_PER_HOUR, MAX_FORWARDED, MAX_STORED, REPORTS_PER_DAY,
                       broadcast_room, categories, find_identifiers, normalize_plate, report_day, reports_for)
from ..rendering import outgoing
from ..store import DAY
from .context import Ctx

log = logging.getLogger(__name__)


def _clean(text: str) -> str:
    """What a person wrote, as one GSM-7 paragraph."""
    return " ".join(fold(text or "").split())


def _category_labels(codes: list[str], lang: str) -> str:
    return ", ".join(messages.render(f"cat_{c}", lang) for c in codes if f"cat_{c}" in messages.EN)


def _redact(ctx: Ctx, text: str, spans: list[tuple[str, int, int]]) -> str:
    """The report text with identifiers (and the reporter's own alias) replaced by neutral marks."""
    out, pos = [], 0
    for kind, start, end in sorted(spans, key=lambda s: s[1]):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(ctx.part(f"redacted_{kind}"))
        pos = end
    out.append(text[pos:])
    redacted = "".join(out)
    alias = ctx.person.get("alias")
    if alias and len(alias) >= 2:
        redacted = re.sub(rf"(?<!\w){re.escape(alias)}(?!\w)", ctx.part("redacted_name"), redacted, flags=re.I)
    return _clean(redacted)[:MAX_STORED]


def _unname(ctx: Ctx, text: str) -> str:
    """The text without the reporter's own alias."""
    alias = ctx.person.get("alias")
    if alias and len(alias) >= 2:
        text = re.sub(rf"(?<!\w){re.escape(alias)}(?!\w)", ctx.part("redacted_name"), text, flags=re.I)
    return _clean(text)


def _recipients(ctx: Ctx, skip: str = "") -> list[str]:
    """Everyone who joined, except the organizer sending (who is told separately) and `skip`."""
    return [p for p in ctx.store.members() if p != ctx.pid and p != skip]


def _queue_warning(ctx: Ctx, key: str, fields: dict, uid: str, skip: str = "") -> dict:
    """Render one bulk text per joined member in their language and queue it for paced sending."""
    texts = []
    for pid in _recipients(ctx, skip):
        o = outgoing(ctx.line, pid, key, fields, ctx.now, uid)
        if o:
            texts.append(o)
    batch = pacing.queue_batch(ctx.line, texts, notify=ctx.pid, notice_key="broadcast_done",
                               notice_fields={"count": len(texts)})
    batch["minutes"] = max(1, -(-pacing.seconds_for(batch["segments"], ctx.line.settings.send_rate) // 60))
    return batch


def _too_long(ctx: Ctx, key: str, text: str) -> bool:
    room = messages.LONG_LIMIT if key != "broadcast_too_long" else broadcast_room(ctx.line)
    if septets(text) <= room:
        return False
    ctx.reply(key, count=septets(text), texts=segments(text), max=room)
    return True


def h_report(ctx: Ctx) -> None:
    if ctx.cmd.error or not _clean(ctx.cmd.text):
        ctx.reply("report_usage")
        return
    if not ctx.store.hit(ctx.pid, "report", REPORTS_PER_DAY, DAY):
        ctx.reply("report_limited")
        return
    line, text = ctx.line, ctx.cmd.text
    reports = reports_for(line)
    spans, own, hashes, shown = [], [], [], []
    for kind, value, start, end in find_identifiers(text, line.settings.default_region):
        spans.append((kind, start, end))
        if kind == "number" and value == ctx.number:
            own.append((kind, start, end))  # the reporter's own number is never screened, shown or kept
            continue
        hashes.append(reports.hash(value))
        shown.append(value)
    stored = _redact(ctx, text, spans)
    forwarded = _clean(_splice(text, own, ctx.part("redacted_number")))[:MAX_FORWARDED]
    # What members are warned with: the bad date's number or plate kept, nothing that points to the reporter.
    warning = _unname(ctx, forwarded)[:MAX_FORWARDED]
    rid = reports.create(stored, categories(text), hashes, ctx.now, warning=warning, reporter=ctx.pid)
    alias = ctx.person.get("alias") or "?"
    texts = []
    for org in ctx.store.organizers():
        lang = ctx.store.person(org).get("lang", "en")
        ids = messages.render("part_ids", lang, list=", ".join(dict.fromkeys(shown))) if shown else ""
        fields = {"id": rid, "alias": alias, "note": forwarded, "list_part": ids}
        o = outgoing(line, org, "report_forward", fields, ctx.now, f"rep-{rid}")
        if o:
            texts.append(o)
    enqueue_texts(line, texts, queue=DEFAULT)
    log.info("report %s kept with %d identifiers", rid, len(hashes))
    ctx.reply("report_ok", id=rid)


def _splice(text: str, spans: list[tuple[str, int, int]], mark: str) -> str:
    for _, start, end in sorted(spans, key=lambda s: s[1], reverse=True):
        text = text[:start] + mark + text[end:]
    return text


def h_approve(ctx: Ctx) -> None:
    rid = ctx.cmd.text
    if ctx.cmd.error or not rid:
        ctx.reply("approve_usage")
        return
    reports = reports_for(ctx.line)
    send = ctx.cmd.extra is not None
    custom = _clean(ctx.cmd.extra or "")
    if send and custom and _too_long(ctx, "broadcast_too_long", custom):
        return
    result = reports.approve(rid, ctx.now)
    if result == "missing":
        ctx.reply("report_unknown", id=rid)
        return
    if not send:
        ctx.reply("report_already" if result == "already" else "approve_ok", id=rid)
        return
    full = reports.take_full(rid)
    if full is None and not custom:
        ctx.reply("report_full_gone", id=rid)
        return
    # Worded as a BROADCAST is; the reporter is not sent their own warning.
    note = custom or full["warning"]
    batch = _queue_warning(ctx, "broadcast", {"note": note}, f"warn-{rid}", skip=(full or {}).get("reporter", ""))
    ctx.reply("approve_sent", id=rid, count=batch["texts"], texts=batch["segments"], minutes=batch["minutes"])


def h_reject(ctx: Ctx) -> None:
    rid = ctx.cmd.text
    if ctx.cmd.error or not rid:
        ctx.reply("reject_usage")
        return
    ok = reports_for(ctx.line).reject(rid, ctx.now)  # the full text and the reporter link go with it
    ctx.reply("reject_ok" if ok else "report_unknown", id=rid)


def h_reports(ctx: Ctx) -> None:
    ids = [f"#{rid}" for rid in reports_for(ctx.line).pending(ctx.now)]
    if not ids:
        ctx.reply("reports_none")
        return
    for shown in range(len(ids), 0, -1):
        listed = ", ".join(ids[:shown])
        more = ctx.part("part_more", count=len(ids) - shown) if shown < len(ids) else ""
        text = messages.render("reports_list", ctx.lang, list=listed, list_part=more)
        if listed in text and septets(text) <= messages.REPLY_LIMIT:
            break
    ctx.reply("reports_list", list=listed, list_part=more)


def screen_values(arg: str, region: str) -> list[str]:
    """The normalized identifiers a CHECK argument can mean: a phone number, a plate, or both."""
    values = []
    for m in phonenumbers.PhoneNumberMatcher(arg, region):
        values.append(phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164))
    plate = normalize_plate(arg)
    if plate and not values:
        values.append(plate)
    if not values:
        values.extend(v for kind, v, _, _ in find_identifiers(arg, region) if kind == "plate")
    return list(dict.fromkeys(values))


def h_check(ctx: Ctx) -> None:
    if ctx.cmd.error or not ctx.cmd.number:
        ctx.reply("check_usage")
        return
    if not ctx.store.hit(ctx.pid, "check", CHECKS_PER_HOUR, 3600):
        ctx.reply("check_limited")
        return
    line = ctx.line
    values = screen_values(ctx.cmd.number, line.settings.default_region)
    if not values:
        ctx.reply("check_bad")
        return
    reports = reports_for(line)
    found = reports.matches([h for v in values for h in reports.hashes(v)], ctx.now)
    if not found:
        ctx.reply("check_none")
        return
    entries = [f"{report_day(line, r['at'])} {_category_labels(r['categories'], ctx.lang)}".strip() for r in found]
    ctx.reply("check_found", count=len(found), list="; ".join(entries))


def h_broadcast(ctx: Ctx) -> None:
    text = _clean(ctx.cmd.text)
    if ctx.cmd.error or not text:
        ctx.reply("broadcast_usage", max=broadcast_room(ctx.line))
        return
    if _too_long(ctx, "broadcast_too_long", text):
        return
    if not _recipients(ctx):
        ctx.reply("broadcast_none")
        return
    batch = _queue_warning(ctx, "broadcast", {"note": text}, f"bc-{secrets.token_hex(4)}")
    if not batch["texts"]:
        ctx.reply("broadcast_none")
        return
    log.info("broadcast from %s: %d texts, %d segments", mask(ctx.number), batch["texts"], batch["segments"])
    ctx.reply("broadcast_ok", count=batch["texts"], texts=batch["segments"], minutes=batch["minutes"])


def h_rights(ctx: Ctx) -> None:
    ctx.reply("rights", note=reports_for(ctx.line).card(ctx.lang))


CONFIRM_WORDS = frozenset({"YES", "SI"})
CANCEL_WORDS = frozenset({"NO"})


def h_card(ctx: Ctx) -> None:
    reports = reports_for(ctx.line)
    word = _clean(ctx.cmd.text).strip(".!?").upper()
    if word in CONFIRM_WORDS | CANCEL_WORDS:
        draft = reports.take_draft(ctx.pid)
        fresh = draft and ctx.now - float(draft["at"]) <= ctx.line.settings.seconds(CARD_CONFIRM_MINUTES)
        if not fresh:
            ctx.reply("card_nothing")
        elif word in CANCEL_WORDS:
            ctx.reply("card_cancelled")
        else:
            reports.set_card(draft["lang"], draft["text"])
            ctx.reply("card_ok", language=draft["lang"].upper())
        return
    text = _clean(ctx.cmd.text)
    if ctx.cmd.error or not text:
        ctx.reply("card_usage")
        return
    if _too_long(ctx, "card_too_long", text):
        return
    lang = (ctx.cmd.extra or "EN").lower()
    ttl = int(ctx.line.settings.seconds(CARD_CONFIRM_MINUTES)) + 60
    reports.draft_card(ctx.pid, lang, text, ctx.now, ttl)
    ctx.reply("card_confirm", language=lang.upper(), count=septets(text))
