"""Every command, declared once: who may use it, what it guards, its usage text and its handler.

The words that name a command (English and Spanish) are read by the parser, commands.PARSERS;
everything else about a command is said here, in one entry, found by its name (START, EXTEND...).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .account import h_lang, h_optin, h_optout, h_wipe
from .answers import h_join, h_no, h_yes
from .context import Ctx
from .organizers import h_alerts, h_members
from .people import h_add, h_buddies, h_buddy, h_name, h_organizer, h_remove, h_unbuddy
from .reports import h_approve, h_broadcast, h_card, h_check, h_reject, h_report, h_reports, h_rights
from .safety import h_duress, h_safeword, h_test, last_buddy
from .talk import h_ack, h_duration, h_fine, h_help, h_unknown
from .timers import h_extend, h_ok, h_sos, h_start, h_status, time_of_day_on_fast_clock

ANY, MEMBER, ORGANIZER = "any", "member", "organizer"


@dataclass(frozen=True)
class Spec:
    """One command, as the line treats it."""

    name: str  # what the parser names it: Command.name
    handler: Callable[[Ctx], None]
    who: str = MEMBER  # ANY number, a MEMBER (or organizer), or an ORGANIZER only
    usage: str | None = None  # the catalog key that says how to write it
    read_only: bool = False  # a member's question that changes nothing: a redelivery is simply answered again
    # Ends or postpones a timer: while one runs, doing it without the safe word raises a covert alarm
    # (when guard_when, given the text, says so too).
    guarded: bool = False
    guard_when: Callable[[Ctx], bool] | None = None
    flood_exempt: bool = False  # never held back by the flood limit
    timer_owner: bool = False  # anyone whose timer runs may use it, member or not (end, extend, check, SOS)
    for_anyone: bool = False  # a non-member whose timer runs is answered as anyone would be (not about the timer)
    stranger_reaches: bool = False  # reaches its handler from a number with no standing at all
    alarm_talk: bool = False  # no command: during an open alarm, the member talking (passed on)


def _wipe_confirmed(ctx: Ctx) -> bool:
    return ctx.cmd.text == "YES"  # asking to wipe ends nothing; only the confirmation does


def _start_takes(ctx: Ctx) -> bool:
    return not time_of_day_on_fast_clock(ctx)  # refused like a malformed START: it changes nothing


def _duress_set(ctx: Ctx) -> bool:
    return bool(ctx.person.get("duress_hash"))  # a first duress word ends and postpones nothing


COMMANDS: dict[str, Spec] = {s.name: s for s in (
    # A member's own timer
    Spec("START", h_start, usage="start_usage", guarded=True, guard_when=_start_takes),
    Spec("OK", h_ok, guarded=True, timer_owner=True),
    Spec("EXTEND", h_extend, usage="extend_usage", guarded=True, timer_owner=True),
    Spec("SOS", h_sos, flood_exempt=True, timer_owner=True),
    Spec("STATUS", h_status, read_only=True, timer_owner=True),
    # Answers to alerts, and texts that are no command
    Spec("ACK", h_ack, who=ANY, flood_exempt=True),
    Spec("HELP", h_help, who=ANY, read_only=True),
    Spec("OK_UNCLEAR", h_unknown, guarded=True, timer_owner=True, alarm_talk=True),
    Spec("FINE", h_fine, guarded=True, alarm_talk=True),
    Spec("DURATION", h_duration, alarm_talk=True),
    Spec("EMPTY", h_unknown, who=ANY, alarm_talk=True),
    Spec("UNKNOWN", h_unknown, who=ANY, alarm_talk=True),
    # Buddies
    Spec("BUDDY", h_buddy, usage="buddy_usage"),
    Spec("BUDDIES", h_buddies),
    Spec("UNBUDDY", h_unbuddy, usage="unbuddy_usage", guarded=True, guard_when=last_buddy),
    Spec("NAME", h_name, usage="name_usage"),
    # Invitations
    Spec("JOIN", h_join, who=ANY, for_anyone=True),
    Spec("YES", h_yes, who=ANY, for_anyone=True),
    Spec("NO", h_no, who=ANY, for_anyone=True),
    # One's own number
    Spec("OPTOUT", h_optout, who=ANY, flood_exempt=True, for_anyone=True, stranger_reaches=True),
    Spec("OPTIN", h_optin, who=ANY, flood_exempt=True, for_anyone=True, stranger_reaches=True),
    Spec("LANG", h_lang, who=ANY, usage="lang_usage"),
    Spec("WIPE", h_wipe, who=ANY, guarded=True, guard_when=_wipe_confirmed, stranger_reaches=True),
    # Covert safety
    Spec("SAFEWORD", h_safeword, usage="word_usage", guarded=True),
    Spec("DURESS", h_duress, usage="word_usage", guarded=True, guard_when=_duress_set),
    Spec("TEST", h_test),
    # Organizers
    Spec("ADD", h_add, who=ORGANIZER, usage="add_usage"),
    Spec("REMOVE", h_remove, who=ORGANIZER, usage="remove_usage"),
    Spec("ORGANIZER", h_organizer, who=ORGANIZER, usage="organizer_usage"),
    Spec("MEMBERS", h_members, who=ORGANIZER),
    Spec("ALERTS", h_alerts, who=ORGANIZER),
    # The network's shared knowledge
    Spec("REPORT", h_report, usage="report_usage"),
    Spec("CHECK", h_check, usage="check_usage"),
    Spec("RIGHTS", h_rights),
    Spec("BROADCAST", h_broadcast, who=ORGANIZER, usage="broadcast_usage"),
    Spec("REPORTS", h_reports, who=ORGANIZER),
    Spec("APPROVE", h_approve, who=ORGANIZER, usage="approve_usage"),
    Spec("REJECT", h_reject, who=ORGANIZER, usage="reject_usage"),
    Spec("CARD", h_card, who=ORGANIZER, usage="card_usage"),
)}


def spec(name: str) -> Spec:
    """The entry for a parsed command's name (the parser names no command that has none)."""
    return COMMANDS[name]
