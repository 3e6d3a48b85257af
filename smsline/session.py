"""The check-in timer as a pure state machine: (timer, event, now) -> (timer, effects).

No clock, no Redis. Every transition bumps `version`; a scheduled job carries the
version it was armed with, and a job whose version is stale changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

RUNNING, OVERDUE, ALERTING, ENDED = "running", "overdue", "alerting", "ended"
LIVE = (RUNNING, OVERDUE, ALERTING)

REMIND, TIMEUP, ALERT, ACKCHECK = "remind", "timeup", "alert", "ackcheck"


@dataclass(frozen=True)
class Timing:
    """Escalation timing, in the line's minutes, and the length of one of them."""

    seconds_per_minute: float = 60.0
    reminder: int = 10
    grace: int = 5
    realert: int = 10
    max_rounds: int = 6

    def s(self, minutes: float) -> float:
        return minutes * self.seconds_per_minute


@dataclass(frozen=True)
class People:
    """Who a member's alarm reaches: the member, confirmed buddies, organizers."""

    member: str
    buddies: tuple[str, ...] = ()
    organizers: tuple[str, ...] = ()

    @property
    def other_organizers(self) -> tuple[str, ...]:
        return tuple(o for o in self.organizers if o != self.member)


@dataclass(frozen=True)
class Timer:
    tid: int
    version: int
    status: str
    started_at: float
    ends_at: float
    note: str = ""
    kind: str = "timer"  # "timer", or "sos" when raised without a timer
    round: int = 0
    first_alert_at: float | None = None
    last_alert_at: float | None = None
    alerted: tuple[str, ...] = ()
    acked_by: str | None = None
    acked_at: float | None = None
    next_at: float | None = None
    next_stage: str | None = None
    covert: bool = False
    cover_end: float | None = None  # after a covert alarm: the end the phone is shown, if any
    cover_note: str = ""  # after a covert alarm: the note of the timer the phone is shown
    cover_wiped: bool = False  # after a covert WIPE YES: the phone is answered as a wiped number would be
    ended_at: float | None = None
    sos_reminded: int = 0  # the round after which a repeated SOS already reminded those who had not ACKed

    @property
    def live(self) -> bool:
        return self.status in LIVE

    def to_dict(self) -> dict:
        # Field by field: dataclasses.asdict deep-copies and is slow when a thousand timers step at once.
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["alerted"] = list(self.alerted)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Timer":
        d = dict(d)
        d["alerted"] = tuple(d.get("alerted") or ())
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


# Effects: data for the service to carry out after the state is saved.
@dataclass(frozen=True)
class Reply:
    """Answer the sender of the inbound text."""

    key: str
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Tell:
    """Text these people (person ids) once."""

    to: tuple[str, ...]
    key: str
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    """One alert round: exactly one text to each recipient, tracked per recipient."""

    round: int
    to: tuple[str, ...]
    key: str
    fields: dict = field(default_factory=dict)
    last_to: tuple[str, ...] = ()  # recipients who get the "last alert" wording


@dataclass(frozen=True)
class StandDown:
    """Tell everyone an alert reached (or was reaching) that the member is safe."""

    alert_at: float


def _arm_after_start(t: Timer, timing: Timing) -> Timer:
    length = t.ends_at - t.started_at
    remind_at = t.ends_at - timing.s(timing.reminder)
    if timing.reminder > 0 and length > timing.s(timing.reminder) and remind_at > t.started_at:
        return replace(t, next_at=remind_at, next_stage=REMIND)
    return replace(t, next_at=t.ends_at, next_stage=TIMEUP)


def _bump(t: Timer, **changes) -> Timer:
    return replace(t, version=t.version + 1, **changes)


def _end(t: Timer, now: float) -> tuple[Timer, list]:
    """End a live timer; stand everyone down if alerts went out."""
    effects: list = []
    if t.status == ALERTING and t.first_alert_at is not None:
        effects.append(StandDown(alert_at=t.first_alert_at))
    return _bump(t, status=ENDED, ended_at=now, next_at=None, next_stage=None), effects


def start(prev: Timer | None, now: float, ends_at: float, note: str, people: People, timing: Timing):
    """START: begin a timer, replacing (and standing down) any running one."""
    effects: list = []
    tid, version = 1, 1
    if prev is not None:
        tid, version = prev.tid + 1, prev.version + 1
        if prev.live:
            _, effects = _end(prev, now)
    t = Timer(tid=tid, version=version, status=RUNNING, started_at=now, ends_at=ends_at, note=note)
    t = _arm_after_start(t, timing)
    replaced = prev is not None and prev.live
    effects.append(Reply("start_replaced" if replaced else "start_ok", {"end_at": ends_at}))
    if not people.buddies:
        effects.append(Reply("start_no_buddy" if people.other_organizers else "start_nobody", {}))
    return t, effects


def ok(t: Timer | None, now: float):
    """OK: the member is safe."""
    if t is None or not t.live:
        return t, [Reply("ok_no_timer")]
    # After a covert alarm the phone is never told that alerts went out.
    alerted = t.status == ALERTING and not t.covert and bool(t.alerted)  # nobody alerted: nobody to stand down
    t, effects = _end(t, now)
    effects.append(Reply("ok_after_alert" if alerted else "ok_ended"))
    return t, effects


def extended_end(ends_at: float, now: float, minutes: int, timing: Timing) -> float:
    """Where EXTEND moves an end to: that many minutes past the end, or past now when the end has passed."""
    return max(ends_at, now) + timing.s(minutes)


def extend(t: Timer | None, now: float, minutes: int, timing: Timing, max_minutes: int = 1440):
    """EXTEND: push the end out, but only before alerts have gone out."""
    if t is None or not t.live:
        return t, [Reply("no_timer")]
    if t.status == ALERTING:
        return t, [Reply("extend_too_late")]
    ends_at = extended_end(t.ends_at, now, minutes, timing)
    if ends_at - now > timing.s(max_minutes):
        return t, [Reply("extend_too_long", {"end_at": t.ends_at})]
    t = _bump(t, status=RUNNING, ends_at=ends_at, started_at=t.started_at)
    # Re-arm from now: a reminder already sent is not sent again for the same end.
    remind_at = ends_at - timing.s(timing.reminder)
    if timing.reminder > 0 and remind_at > now:
        t = replace(t, next_at=remind_at, next_stage=REMIND)
    else:
        t = replace(t, next_at=ends_at, next_stage=TIMEUP)
    return t, [Reply("extend_ok", {"end_at": ends_at})]


def _alert_round(t: Timer, now: float, people: People, timing: Timing, key: str):
    rnd = t.round + 1
    if rnd == 1:
        to = people.buddies or people.other_organizers
    else:
        to = tuple(dict.fromkeys(people.buddies + people.other_organizers))
    last_to = people.other_organizers if rnd >= timing.max_rounds else ()
    to = tuple(dict.fromkeys(to + last_to))
    more = rnd < timing.max_rounds
    t = _bump(
        t,
        status=ALERTING,
        round=rnd,
        first_alert_at=t.first_alert_at if t.first_alert_at is not None else now,
        last_alert_at=now,
        alerted=tuple(dict.fromkeys(t.alerted + to)),
        next_at=now + timing.s(timing.realert) if more else None,
        next_stage=ALERT if more else None,
    )
    fields = {"started_at": t.started_at, "note": t.note, "round": rnd, "alert_at": t.first_alert_at}
    effects: list = [Alert(round=rnd, to=to, key=key, fields=fields, last_to=last_to)]
    if rnd == 1 and not t.covert:
        effects.append(Tell((people.member,), _who_hears(people, "member_alerted")))
    return t, effects


def _who_hears(people: People, key: str) -> str:
    """The member's text as it is true for them: buddies alerted, else organizers, else nobody at all."""
    if people.buddies:
        return key
    return f"{key}_org" if people.other_organizers else f"{key}_nobody"


def tick(t: Timer | None, version: int, stage: str, now: float, people: People, timing: Timing):
    """A scheduled job woke up: act only if it is the job the current version armed, and due."""
    if t is None or t.version != version or t.next_stage != stage or not t.live:
        return t, []
    if t.next_at is None or now < t.next_at:
        return t, []
    # A step that is already overtaken (workers were down) is skipped: the alarm is not held back for it.
    if stage == REMIND and now < t.ends_at:
        t = _bump(t, next_at=t.ends_at, next_stage=TIMEUP)
        return t, [Tell((people.member,), "reminder", {"end_at": t.ends_at, "minutes": timing.reminder})]
    if stage in (REMIND, TIMEUP) and now < t.ends_at + timing.s(timing.grace):
        t = _bump(t, status=OVERDUE, next_at=t.ends_at + timing.s(timing.grace), next_stage=ALERT)
        return t, [Tell((people.member,), _who_hears(people, "timeup"), {"minutes": timing.grace})]
    if stage in (REMIND, TIMEUP):
        return _alert_round(t, now, people, timing, "duress" if t.covert else "alert")
    if stage == ALERT:
        key = "duress" if t.covert else ("alert" if t.round == 0 else "alert_repeat")
        return _alert_round(t, now, people, timing, key)
    if stage == ACKCHECK:
        orgs = people.other_organizers
        t = _bump(t, next_at=None, next_stage=None, alerted=tuple(dict.fromkeys(t.alerted + orgs)))
        fields = {"started_at": t.started_at, "note": t.note, "alert_at": t.first_alert_at, "by": t.acked_by}
        return t, [Alert(round=t.round + 100, to=orgs, key="ack_stale", fields=fields)] if orgs else []
    return t, []


SOS_REMINDER_ROUND = 200  # + the round: the one reminder a repeated SOS sends after that round


def sos(prev: Timer | None, now: float, note: str, people: People, timing: Timing):
    """SOS: alert now, whether or not a timer runs.

    Within a minute of the last round, a repeated SOS makes no new round: the first repeat reminds
    those alerted who have not ACKed (with any new note), later ones only keep the new note.
    """
    if prev is not None and prev.status == ALERTING and prev.last_alert_at is not None \
            and now - prev.last_alert_at < timing.s(1) and prev.alerted:
        return _sos_repeat(prev, note)
    if prev is not None and prev.live:
        t = replace(prev, note=" / ".join(n for n in (prev.note, note) if n), acked_by=None, acked_at=None)
    else:
        tid = prev.tid + 1 if prev else 1
        version = prev.version + 1 if prev else 1
        t = Timer(tid=tid, version=version, status=ALERTING, started_at=now, ends_at=now, note=note, kind="sos")
    t, effects = _alert_round(t, now, people, timing, "sos")
    return t, [e for e in effects if not isinstance(e, Tell)] + [Reply("sos_ok" if t.alerted else "sos_nobody")]


def _sos_repeat(t: Timer, note: str):
    notes = [n for n in t.note.split(" / ") if n] if t.note else []
    if note and note not in notes:
        t = _bump(t, note=" / ".join(notes + [note]))
    waiting = tuple(p for p in t.alerted if p != t.acked_by)
    if t.sos_reminded == t.round or not waiting:
        return t, [Reply("sos_ok")]
    t = _bump(t, sos_reminded=t.round)
    fields = {"started_at": t.started_at, "note": t.note, "round": t.round, "alert_at": t.first_alert_at}
    return t, [Alert(round=SOS_REMINDER_ROUND + t.round, to=waiting, key="sos_reminder", fields=fields),
               Reply("sos_ok")]


def covert_alarm(prev: Timer | None, now: float, people: People, timing: Timing, cover_end: float | None = None,
                 cover_note: str = "", cover_wiped: bool = False):
    """Duress word, or a try to end or postpone a timer without the safe word: alert now, show nothing.

    The replies are chosen by the caller to look exactly like the ordinary ones.
    """
    if prev is not None and prev.live and prev.covert and prev.status == ALERTING:
        # A covert alarm is already open: another wrong try only changes what the phone is shown. It
        # neither sends a round nor uses one up; the repeats go on as scheduled until ACK or the safe word.
        return _bump(prev, cover_end=cover_end, cover_note=cover_note, cover_wiped=cover_wiped), []
    if prev is not None and prev.live:
        # Already alerting or not, a duress round goes out now.
        t = replace(prev, covert=True, cover_end=cover_end, cover_note=cover_note, cover_wiped=cover_wiped,
                    acked_by=None, acked_at=None)
    else:
        tid = prev.tid + 1 if prev else 1
        version = prev.version + 1 if prev else 1
        t = Timer(tid=tid, version=version, status=ALERTING, started_at=now, ends_at=now, kind="sos",
                  covert=True, cover_end=cover_end, cover_note=cover_note, cover_wiped=cover_wiped)
    return _alert_round(t, now, people, timing, "duress")


def ack(t: Timer | None, by: str, now: float, people: People, timing: Timing):
    """ACK from someone alerted: stop repeats, tell the member and the others, watch for a stall."""
    if t is None or t.status != ALERTING or by not in t.alerted:
        return t, []
    if t.acked_by is not None:
        return t, []
    t = _bump(t, acked_by=by, acked_at=now, next_at=now + timing.s(2 * timing.realert), next_stage=ACKCHECK)
    effects: list = []
    if not t.covert:
        effects.append(Tell((people.member,), "ack_member", {"by": by}))
    others = tuple(p for p in t.alerted if p != by)
    if others:
        effects.append(Tell(others, "ack_others", {"by": by}))
    return t, effects
