"""Covert safety: SAFEWORD, DURESS and TEST, and what a text without the safe word does while a timer runs."""
from __future__ import annotations

from .. import covert, session
from ..alarms import timer_event
from ..notices import enqueue_texts
from ..phones import mask, normalize
from ..rendering import display_name, outgoing
from ..session import Reply
from .context import Ctx
from .standing import cover
from .timers import start_end


def last_buddy(ctx: Ctx) -> bool:
    """UNBUDDY needs the safe word only for the member's last confirmed buddy."""
    number = normalize(ctx.cmd.number or "", ctx.line.settings.default_region)
    bpid = ctx.store.pid_for(number) if number else None
    confirmed = ctx.store.confirmed_buddies(ctx.pid)
    return bool(bpid) and confirmed == (bpid,)


def _raise_covert(ctx: Ctx, cover_end: float | None, cover_note: str = "", cover_wiped: bool = False) -> None:
    line = ctx.line
    timer_event(line, ctx.pid,
                lambda t, people: session.covert_alarm(t, ctx.now, people, line.timing, cover_end, cover_note,
                                                       cover_wiped), ctx.now)


def cover_wiped(ctx: Ctx) -> bool:
    """After a covert WIPE YES, without the safe word: the phone is answered as a wiped number would be."""
    if ctx.screen is None or ctx.screen.safe_given:
        return False
    t = ctx.timer()
    return t is not None and t.live and t.covert and t.cover_wiped


def covert_duress(ctx: Ctx) -> None:
    """The duress word: the reply of a normal OK, character for character; buddies alerted at once."""
    t = ctx.store.timer(ctx.pid)
    if t is not None and t.live and t.covert and cover(t, ctx.now)[0] is None:
        ctx.reply("ok_no_timer")  # the phone was already shown its timer ended
    else:
        _, effects = session.ok(t, ctx.now)
        ctx.replies_from([e for e in effects if isinstance(e, Reply)])
    _raise_covert(ctx, None)


def covert_guard(ctx: Ctx) -> None:
    """A try to end or postpone a timer without the safe word: answer as usual, alarm covertly.

    Every reply is the one a member with no safe word would get for the timer the phone was shown.
    """
    cmd, t, line = ctx.cmd, ctx.store.timer(ctx.pid), ctx.line
    shown, note = cover(t, ctx.now)
    cover_end, cover_note, wiped = shown, note, False
    if cmd.name == "OK":
        cover_end = None
        ctx.reply("ok_ended" if shown is not None else "ok_no_timer")
    elif cmd.name in ("OK_UNCLEAR", "UNKNOWN", "FINE"):
        # The same reply a member with no safe word gets: the timer as the phone knows it runs on.
        if cmd.name == "OK_UNCLEAR":
            ctx.reply("ok_unclear" if shown is not None else "no_timer")
        elif shown is not None:
            ctx.reply("unknown_running", end_at=shown)
        else:
            ctx.reply("unknown")
    elif cmd.name == "EXTEND":
        if shown is None:
            ctx.reply("no_timer")
        else:
            cover_end = session.extended_end(shown, ctx.now, cmd.minutes or 0, line.timing)
            ctx.reply("extend_ok", end_at=cover_end)
    elif cmd.name == "START":
        cover_end, cover_note = start_end(ctx), ctx.cmd.text[:300]
        ctx.reply("start_replaced" if shown is not None else "start_ok", end_at=cover_end)
        if not ctx.store.confirmed_buddies(ctx.pid):
            others = [o for o in ctx.store.organizers() if o != ctx.pid]
            ctx.reply("start_no_buddy" if others else "start_nobody")
    elif cmd.name == "UNBUDDY":
        ctx.reply("unbuddy_ok", number=mask(normalize(cmd.number, line.settings.default_region)))
    elif cmd.name == "WIPE":
        cover_end, wiped = None, True
        ctx.reply("wipe_done")
    else:  # SAFEWORD or DURESS changes: the answer the change itself would get
        word = (cmd.text or "").strip()
        if word.upper() == "OFF":
            ctx.reply("word_off")
        else:
            other = "duress" if cmd.name == "SAFEWORD" else "safe"
            problem = covert.word_problem(word)
            if not problem and covert.matches(ctx.store.sealer, ctx.person, other, word):
                problem = "word_same"
            ctx.reply(problem or "word_set")
    _raise_covert(ctx, cover_end, cover_note, wiped)


def _set_word(ctx: Ctx, kind: str) -> None:
    screen = ctx.screen
    word = (ctx.cmd.text or "").strip()
    if not word:
        ctx.reply("word_usage")
        return
    person = ctx.person
    if screen and screen.has_safe and not screen.safe_given and person.get(f"{kind}_hash"):
        # Changing (or removing) an existing word needs the current safe word in the same text;
        # a first duress word after a safe word changes nothing that protects the member.
        ctx.reply("word_needs_safe")
        return
    if word.upper() == "OFF":
        ctx.store.drop_fields(ctx.pid, f"{kind}_salt", f"{kind}_hash")
        ctx.reply("word_off")
        return
    problem = covert.word_problem(word)
    other = "duress" if kind == "safe" else "safe"
    if not problem and covert.matches(ctx.store.sealer, person, other, word):
        problem = "word_same"
    if problem:
        ctx.reply(problem)
        return
    salt, digest = covert.hash_word(ctx.store.sealer, word)
    ctx.store.set_fields(ctx.pid, **{f"{kind}_salt": salt, f"{kind}_hash": digest})
    ctx.reply("word_set")


def h_safeword(ctx: Ctx) -> None:
    _set_word(ctx, "safe")


def h_duress(ctx: Ctx) -> None:
    _set_word(ctx, "duress")


def h_test(ctx: Ctx) -> None:
    """TEST: every confirmed buddy gets a text plainly marked as a test."""
    links = ctx.store.buddy_links(ctx.pid)
    # In the order they became buddies, as BUDDIES lists them, so the reply names them the same way.
    buddies = [b for b, v in sorted(links.items(), key=lambda kv: kv[1].get("at", 0)) if v.get("status") == "confirmed"]
    uid = f"test-{ctx.pid}-{int(ctx.now)}"
    texts, names = [], []
    for b in buddies:
        o = outgoing(ctx.line, b, "test_buddy", {}, ctx.now, uid, member=ctx.pid)
        if o:
            o.ref = {"kind": "test", "member": ctx.pid, "rid": b}
            texts.append(o)
            names.append(display_name(ctx.line, b, ctx.pid))
    enqueue_texts(ctx.line, texts)
    ctx.reply("test_sent", names=", ".join(names)) if texts else ctx.reply("test_nobody")
