"""Bad-date reports as the line keeps them: identifiers screened, texts redacted and sealed, the rights card.

The commands that use them are handlers/reports.py.

A report's full text (what members will be warned with: the plate or number
of the bad date kept, the reporter's own number and alias taken out) and the
link to its reporter are kept sealed (sealing.py) only until the organizers
decide: REJECT, or APPROVE with SEND, drops them; a plain APPROVE keeps them
REPORT_SEND_DAYS more for a later SEND. After that only the keyed hashes of
the identifiers (for CHECK) and the redacted text (sealed, for the export)
are left. The reporter is never sent their own warning, and a WIPE drops
their link at once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path

import phonenumbers
from redis.exceptions import WatchError

from . import messages
from .gsm7 import septets
from .line import Line
from .store import DAY

log = logging.getLogger(__name__)

ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: read aloud or copied by hand
ID_LENGTH = 5
CHECKS_PER_HOUR = 10
REPORTS_PER_DAY = 10
MAX_STORED = 600          # characters of redacted report text kept
MAX_FORWARDED = 1000      # characters of the report the forward carries (the catalog cuts it to fit)
CARD_CONFIRM_MINUTES = 10
CARDS = Path(__file__).parent / "cards"


REPORT_SEND_DAYS = 7      # after a plain APPROVE, the full text waits this long for APPROVE id SEND


class ReportKeys:
    report = "sl:rep:{rid}"              # hash: text (redacted, sealed), cats, at, status, approved_at, ids (hashes)
    sealed = "sl:rep:{rid}:full"         # sealed json {warning, reporter}: until the decision (see module doc)
    pending = "sl:rep:pending"           # zset rid -> reported at
    approved = "sl:rep:approved"         # zset rid -> reported at
    index = "sl:rep:ix:{h}"              # zset rid -> reported at: approved reports naming this identifier
    card = "sl:card:{lang}"              # string: a rights card that replaced the shipped default
    card_draft = "sl:card:draft:{pid}"   # hash lang, text, at: waiting for CARD YES


# Identifiers ----------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9]+")
_JOIN = re.compile(r"[ \-]{1,3}")
PLATE_CUES = frozenset({"PLATE", "PLATES", "PLACA", "PLACAS", "TAG", "TAGS", "LICENSE", "LICENCE", "LIC",
                        "MATRICULA", "PATENTE", "REG", "REGISTRATION"})
PLATE_FILLER = frozenset({"IS", "WAS", "ES", "ERA", "NUMBER", "NUM", "NO", "NR", "OF", "DE", "LA", "EL", "SU",
                          "HIS", "HER", "THE", "CAR", "CAR'S"})
# Tokens that mix letters and digits but are times, sums, ordinals or units, not plates.
_NOT_PLATE = re.compile(
    r"^\d{1,4}(AM|PM|A|P|H|HR|HRS|HOUR|HOURS|MIN|MINS|K|USD|DLLS|MXN|EUR|GBP|ST|ND|RD|TH|X|XL|CM|KM|MI|MPH|LB|LBS|KG)$"
    r"|^(AM|PM|RM|ROOM|APT|NO)\d{1,4}$"
)


def screen_hash(secret: str, normalized: str) -> str:
    """HMAC-SHA256 of a normalized identifier (E.164, or a plate's letters and digits).

    The 'screen:' prefix keeps these hashes apart from the line's own number lookups,
    so a screened number never shares a key with a member's record.
    """
    return hmac.new(secret.encode(), b"screen:" + normalized.encode(), hashlib.sha256).hexdigest()


def normalize_plate(raw: str) -> str | None:
    """A plate as upper-case letters and digits (at least one digit), or None when it cannot be one."""
    plate = re.sub(r"[\s\-.·_]", "", raw or "").upper()
    return plate if re.fullmatch(r"[A-Z0-9]{2,8}", plate) and re.search(r"\d", plate) else None


def find_identifiers(text: str, region: str) -> list[tuple[str, str, int, int]]:
    """Phone numbers and plates in a report: (kind, normalized, start, end), in text order."""
    found = []
    blanked = list(text)
    for m in phonenumbers.PhoneNumberMatcher(text, region):
        e164 = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
        found.append(("number", e164, m.start, m.end))
        blanked[m.start:m.end] = "\0" * (m.end - m.start)
    found.extend(_plates("".join(blanked)))
    return sorted(found, key=lambda f: (f[2], -f[3]))


def _plates(text: str) -> list[tuple[str, str, int, int]]:
    tokens = list(_TOKEN.finditer(text))
    out = []
    seen = set()
    for i, first in enumerate(tokens):
        cue = _after_cue(tokens, i)
        for n in (1, 2, 3):
            part = tokens[i:i + n]
            if len(part) < n or any(not _JOIN.fullmatch(text[a.end():b.start()]) for a, b in zip(part, part[1:])):
                break
            plate = "".join(t.group().upper() for t in part)
            if len(plate) > 8:
                break
            if _is_plate(plate, part, cue) and (plate, first.start()) not in seen:
                seen.add((plate, first.start()))
                out.append(("plate", plate, first.start(), part[-1].end()))
    # 'plate 7ABC 123' is 7ABC123, not also 7ABC: a shorter reading from the same start is kept
    # only when it could be a plate on its own.
    longest = {}
    for f in out:
        if len(f[1]) > len(longest.get(f[2], ("", ""))[1]):
            longest[f[2]] = f
    return [f for f in out if f is longest[f[2]] or _is_plate(f[1], [None], cue=False)]


def _after_cue(tokens, i: int) -> bool:
    """Whether token i follows a word such as 'plate' or 'placa' (fillers like 'is' allowed between)."""
    j = i - 1
    while j >= 0 and i - j <= 3:
        word = tokens[j].group().upper()
        if word in PLATE_CUES:
            return True
        if word not in PLATE_FILLER:
            return False
        j -= 1
    return False


def _is_plate(plate: str, part, cue: bool) -> bool:
    has_digit = any(c.isdigit() for c in plate)
    has_letter = any(c.isalpha() for c in plate)
    if cue:
        return 2 <= len(plate) and has_digit
    if not (5 <= len(plate) and has_digit and has_letter) or _NOT_PLATE.match(plate):
        return False
    if len(part) == 1:
        return True  # one token mixing letters and digits
    # 'room 212' or 'at 10 pm' are not plates: letter groups of a spaced plate are written in capitals.
    return all(t.group().isupper() or t.group().isdigit() for t in part) and not any(
        t.group().upper() in PLATE_FILLER or t.group().upper() in PLATE_CUES for t in part)


def categories(text: str) -> list[str]:
    """Short category codes for a report, from the words in it; 'other' when none match."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    plain = plain.replace("\u2019", "'")
    found = [code for code, pattern in CATEGORY_PATTERNS if pattern.search(plain)]
    return found or ["other"]


CATEGORY_PATTERNS = tuple((code, re.compile(p)) for code, p in (
    ("violence", r"\b(hit|hits|hitting|beat|beaten|beating|punch\w*|chok\w*|strangl\w*|rape\w*|raping|assault\w*|"
                 r"attack\w*|hurt|slap\w*|kick(ed|ing)|weapon\w*|knife|gun|bruis\w*|golpe\w*|pego|violen\w*|"
                 r"viol(o|ada|acion)|cuchillo|pistola|arma)\b"),
    ("robbery", r"\b(rob|robbed|robbing|robbery|stole|stolen|steal\w*|theft|mugg\w*|robo|robaron|asalt\w*|"
                r"took (my|the|our) (money|cash|phone|bag|purse|wallet|keys|things|stuff))\b"),
    ("protection", r"\b(condom\w*|stealth\w*|condon\w*|preservativo\w*|without protection|sin proteccion)\b"),
    ("no_pay", r"\b(no pay|didn'?t pay|did not pay|wouldn'?t pay|would not pay|refused to pay|never paid|"
               r"not paid|unpaid|fake (money|bills|notes|cash)|counterfeit|no (me )?pago|no quiso pagar|"
               r"billetes? falsos?)\b"),
    ("threats", r"\b(threat\w*|stalk\w*|followed|following me|harass\w*|blackmail\w*|amenaz\w*|acos\w*|"
                r"chantaj\w*|persigu\w*|me siguio)\b"),
    ("drugging", r"\b(drugg\w*|spiked|roofi\w*|drogo|drogada|me drogaron)\b"),
))


# Reports ----------------------------------------------------------------------

class Reports:
    """Bad-date reports, their screening index and the rights cards: one owner for sl:rep:* and sl:card:*."""

    def __init__(self, redis, secret: str, days: int, sealer=None, old_secret: str | None = None):
        self.r = redis
        self.secret = secret
        self.old_secret = old_secret
        self.days = max(1, int(days))
        self.sealer = sealer

    @property
    def lifetime(self) -> int:
        return self.days * DAY

    def cutoff(self, now: float) -> float:
        """Reports made before this moment no longer count."""
        return now - self.lifetime

    def hash(self, normalized: str) -> str:
        return screen_hash(self.secret, normalized)

    def hashes(self, normalized: str) -> list[str]:
        """What CHECK looks up: the hash under the key, and under the old key while one is set.

        Identifiers are kept only as hashes, so they cannot be hashed again under a new key."""
        return [self.hash(normalized)] + ([screen_hash(self.old_secret, normalized)] if self.old_secret else [])

    def _ttl(self, at: float, now: float) -> int:
        return max(1, int(at + self.lifetime - now))

    def create(self, text: str, cats: list[str], hashes: list[str], now: float, warning: str = "",
               reporter: str = "") -> str:
        """Keep a pending report (redacted text sealed; full warning text and reporter sealed apart); its id."""
        fields = {"text": self.sealer.seal(text, "report"), "cats": ",".join(cats), "at": repr(now),
                  "status": "pending", "ids": ",".join(dict.fromkeys(hashes))}
        while True:
            rid = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
            key = ReportKeys.report.format(rid=rid)
            if self.r.hsetnx(key, "status", "pending"):
                break
        full = self.sealer.seal(json.dumps({"warning": warning, "reporter": reporter}), "report")
        with self.r.pipeline() as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self._ttl(now, now))
            pipe.set(ReportKeys.sealed.format(rid=rid), full, ex=self._ttl(now, now))
            pipe.zadd(ReportKeys.pending, {rid: now})
            pipe.zremrangebyscore(ReportKeys.pending, "-inf", f"({self.cutoff(now)}")
            pipe.execute()
        return rid

    def get(self, rid: str, now: float) -> dict | None:
        """A report that has not expired by the line's clock, or None."""
        raw = self.r.hgetall(ReportKeys.report.format(rid=rid))
        report = {k.decode(): v.decode() for k, v in raw.items()}
        if not report.get("at") or float(report["at"]) < self.cutoff(now):
            return None
        report["id"] = rid
        report["text"] = self.sealer.open(report.get("text"), "report")
        report["at"] = float(report["at"])
        report["hashes"] = [h for h in report.get("ids", "").split(",") if h]
        report["categories"] = [c for c in report.get("cats", "").split(",") if c]
        return report

    def approve(self, rid: str, now: float) -> str:
        """'approved', 'already' or 'missing'; an approved report counts for CHECK until it expires."""
        key = ReportKeys.report.format(rid=rid)
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    report = self.get(rid, now)
                    if report is None:
                        return "missing"
                    if report.get("status") == "approved":
                        return "already"
                    at, ttl = report["at"], self._ttl(report["at"], now)
                    index_ttls = {h: self.r.ttl(ReportKeys.index.format(h=h)) for h in report["hashes"]}
                    pipe.multi()
                    pipe.hset(key, mapping={"status": "approved", "approved_at": repr(now)})
                    pipe.expire(key, ttl)
                    pipe.expire(ReportKeys.sealed.format(rid=rid), min(ttl, REPORT_SEND_DAYS * DAY))
                    pipe.zrem(ReportKeys.pending, rid)
                    pipe.zadd(ReportKeys.approved, {rid: at})
                    for h, current in index_ttls.items():
                        ix = ReportKeys.index.format(h=h)
                        pipe.zadd(ix, {rid: at})
                        if current < ttl:  # the newest report naming it keeps the index alive
                            pipe.expire(ix, ttl)
                    pipe.execute()
                    return "approved"
                except WatchError:
                    continue

    def reject(self, rid: str, now: float) -> bool:
        """Drop a report, pending or approved; False when there is none."""
        report = self.get(rid, now)
        if report is None:
            return False
        with self.r.pipeline() as pipe:
            pipe.delete(ReportKeys.report.format(rid=rid), ReportKeys.sealed.format(rid=rid))
            pipe.zrem(ReportKeys.pending, rid)
            pipe.zrem(ReportKeys.approved, rid)
            for h in report["hashes"]:
                pipe.zrem(ReportKeys.index.format(h=h), rid)
            pipe.execute()
        return True

    def take_full(self, rid: str) -> dict | None:
        """The full warning text and the reporter, dropped as they are read (the warning is going out)."""
        with self.r.pipeline() as pipe:
            pipe.get(ReportKeys.sealed.format(rid=rid))
            pipe.delete(ReportKeys.sealed.format(rid=rid))
            raw, _ = pipe.execute()
        return json.loads(self.sealer.open(raw, "report")) if raw else None

    def forget_reporter(self, pid: str, now: float) -> int:
        """WIPE: no report keeps a link to this person any longer; returns how many did."""
        dropped = 0
        for rid in self.r.zrangebyscore(ReportKeys.pending, "-inf", "+inf") + \
                self.r.zrangebyscore(ReportKeys.approved, "-inf", "+inf"):
            key = ReportKeys.sealed.format(rid=rid.decode())
            raw = self.r.get(key)
            if not raw:
                continue
            full = json.loads(self.sealer.open(raw, "report"))
            if full.get("reporter") == pid:
                full["reporter"] = ""
                self.r.set(key, self.sealer.seal(json.dumps(full), "report"), keepttl=True)
                dropped += 1
        return dropped

    def pending(self, now: float) -> list[str]:
        """Ids of reports waiting for review, oldest first."""
        self.r.zremrangebyscore(ReportKeys.pending, "-inf", f"({self.cutoff(now)}")
        return [x.decode() for x in self.r.zrangebyscore(ReportKeys.pending, self.cutoff(now), "+inf")]

    def approved(self, now: float) -> list[dict]:
        """Approved reports that still count, oldest first."""
        self.r.zremrangebyscore(ReportKeys.approved, "-inf", f"({self.cutoff(now)}")
        rids = [x.decode() for x in self.r.zrangebyscore(ReportKeys.approved, self.cutoff(now), "+inf")]
        reports = [self.get(rid, now) for rid in rids]
        return [r for r in reports if r and r.get("status") == "approved"]

    def matches(self, hashes: list[str], now: float) -> list[dict]:
        """Approved, unexpired reports naming any of these identifier hashes, newest first."""
        cutoff = self.cutoff(now)
        rids: set[str] = set()
        for h in dict.fromkeys(hashes):
            ix = ReportKeys.index.format(h=h)
            self.r.zremrangebyscore(ix, "-inf", f"({cutoff}")
            rids.update(x.decode() for x in self.r.zrangebyscore(ix, cutoff, "+inf"))
        reports = [self.get(rid, now) for rid in rids]
        found = [r for r in reports if r and r.get("status") == "approved"]
        return sorted(found, key=lambda r: r["at"], reverse=True)

    # Rights cards --------------------------------------------------------------
    def card(self, lang: str) -> str:
        """The rights card for a language: an organizer's replacement, else the shipped file, else English."""
        for code in dict.fromkeys((lang, "en")):
            override = self.r.get(ReportKeys.card.format(lang=code))
            if override:
                return override.decode()
            path = CARDS / f"{code}.txt"
            if path.is_file():
                return " ".join(path.read_text(encoding="utf-8").split())
        return ""

    def draft_card(self, pid: str, lang: str, text: str, now: float, ttl: int) -> None:
        key = ReportKeys.card_draft.format(pid=pid)
        with self.r.pipeline() as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"lang": lang, "text": text, "at": repr(now)})
            pipe.expire(key, ttl)
            pipe.execute()

    def take_draft(self, pid: str) -> dict | None:
        key = ReportKeys.card_draft.format(pid=pid)
        with self.r.pipeline() as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            raw, _ = pipe.execute()
        return {k.decode(): v.decode() for k, v in raw.items()} or None

    def set_card(self, lang: str, text: str) -> None:
        self.r.set(ReportKeys.card.format(lang=lang), text)


def reports_for(line: Line) -> Reports:
    return Reports(line.redis, line.settings.secret_key, line.settings.report_days, line.store.sealer,
                   line.settings.secret_key_old)


def report_day(line: Line, ts: float) -> str:
    """A date without words, the same in every language."""
    return datetime.fromtimestamp(ts, line.tz).strftime("%Y-%m-%d")


EXPORT_COLUMNS = ("id", "reported", "approved", "categories", "text")


def export_csv(line: Line, out) -> int:
    """Write approved reports that still count as CSV (ids, dates, categories, redacted text); returns rows."""
    import csv

    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    rows = reports_for(line).approved(line.now())
    for r in rows:
        approved = float(r.get("approved_at") or r["at"])
        writer.writerow([r["id"], report_day(line, r["at"]), report_day(line, approved), " ".join(r["categories"]),
                         r["text"]])
    return len(rows)


def broadcast_room(line: Line) -> int:
    """How long a broadcast may be: 459 less the line's name before it ("Lumi: "), in the longest language."""
    network = line.settings.network_name
    return messages.LONG_LIMIT - max(septets(messages.render("broadcast", lang, network=network, note=""))
                                     for lang in messages.LANGS)
