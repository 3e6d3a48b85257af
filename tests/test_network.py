"""Scripted conversations for the network's shared knowledge: reports, screening, broadcasts, the rights card.

Runs in-process (fakeredis, recording transport, pinned clock). Bulk texts go
through the paced outbox; these worlds use a high SMSLINE_SEND_RATE so one
chunk job sends a whole broadcast, and the pacing itself is pinned with
explicit clocks at the end.
"""
from __future__ import annotations

import csv
import io
import re

import pytest

from smsline import gsm7, messages, pacing
from smsline.reports import ReportKeys, categories, find_identifiers, normalize_plate, reports_for, screen_hash
from smsline.store import DAY, Keys
from smsline.transport import SendError
from tests.conftest import ORGANIZER
from tests.helpers import enroll_by_texts

ROSE, ANA, BEA, CLIENT = "+14155550102", "+14155550103", "+14155550104", "+14155550199"
ORG2 = "+14155550005"
FAST = {"send_rate": 1000.0}


def enroll(w, number: str, alias: str) -> None:
    enroll_by_texts(w.text, ORGANIZER, number, alias)
    w.take(number)
    w.take(ORGANIZER)


@pytest.fixture
def net(make_world):
    """An organizer and two joined members, Rose and Ana, with fast bulk sending."""
    w = make_world(FAST)
    enroll(w, ROSE, "Rose")
    enroll(w, ANA, "Ana")
    return w


def report_id(text: str) -> str:
    m = re.search(r"#([2-9A-HJ-NP-Z]{5})\b", text)
    assert m, text
    return m.group(1)


def file_report(w, body: str, by: str = ROSE) -> str:
    rid = report_id(w.reply(by, body))
    w.take(ORGANIZER)
    return rid


def screen(w, query: str, who: str = ANA) -> str:
    """CHECK as a member whose hourly allowance is fresh (the limit has its own test)."""
    w.redis.delete(Keys.rate.format(pid=w.line.store.pid_for(who), kind="check"))
    return w.reply(who, f"CHECK {query}")


def redis_contents(w, pattern: str) -> bytes:
    """Every key matching pattern and everything in it, as one byte string."""
    out = []
    for key in w.redis.keys(pattern):
        kind = w.redis.type(key)
        if kind == b"hash":
            out += [k + b"=" + v for k, v in w.redis.hgetall(key).items()]
        elif kind == b"zset":
            out += w.redis.zrange(key, 0, -1)
        elif kind == b"string":
            out.append(w.redis.get(key))
        out.append(key)
    return b" ".join(out)


def every_text(w) -> list[tuple[str, str]]:
    return [(s.to, s.body) for s in w.transport.sent]


# ---------------------------------------------------------------- reports


def test_a_report_is_kept_with_a_short_id_and_forwarded_to_every_organizer_with_the_alias(net):
    """The reporter is thanked with the id; organizers get the id, APPROVE/REJECT and the alias, never the number."""
    net.text(ORGANIZER, f"ORGANIZER {ORG2}")
    net.text(ORG2, "YES")
    net.take(ORG2)
    reply = net.reply(ROSE, "REPORT man at 415-555-0199 hit me, plate 7ABC 123, grey honda")
    rid = report_id(reply)
    assert "Thank you" in reply and len(rid) == 5
    for org in (ORGANIZER, ORG2):
        forward = net.take(org)
        assert len(forward) == 1, forward
        text = forward[0]
        assert f"#{rid}" in text and f"APPROVE {rid}" in text and f"REJECT {rid}" in text
        assert "Rose" in text
        assert "+14155550199" in text and "7ABC123" in text, "the forward at report time shows the identifiers"
        assert ROSE not in text and "0102" not in text
        assert gsm7.is_gsm7(text) and gsm7.septets(text) <= 459


def test_report_then_approve_then_check_matches_every_way_of_writing_the_number_and_plate(net):
    rid = file_report(net, "REPORT he choked me. His number 415-555-0199, plate 7ABC 123")
    assert "No approved" in net.reply(ANA, "CHECK 4155550199"), "a pending report does not count"
    assert "approved" in net.reply(ORGANIZER, f"APPROVE {rid}")
    for written in ("+14155550199", "415-555-0199", "(415) 555 0199", "415.555.0199", "1 415 555 0199",
                    "7ABC123", "7abc123", "7ABC 123", "7abc-123", "7 ABC-123"):
        answer = screen(net, written)
        assert "match: 1." in answer and "violence" in answer, (written, answer)
        assert "2027-01-15" in answer, "the answer carries the report's date"
    assert "No approved" in screen(net, "415-555-0198")
    assert "No approved" in screen(net, "7ABC124")


def test_check_counts_several_approved_reports_with_their_categories(net):
    a = file_report(net, "REPORT 415 555 0199 took my phone and my cash")
    net.now += 3 * DAY
    b = file_report(net, "REPORT +1 (415) 555-0199 refused to pay and threatened me", by=ANA)
    net.reply(ORGANIZER, f"APPROVE {a}")
    net.reply(ORGANIZER, f"APPROVE {b}")
    answer = net.reply(ROSE, "CHECK 4155550199")
    assert "match: 2." in answer
    assert "did not pay" in answer and "threats" in answer and "robbery" in answer
    assert answer.index("2027-01-18") < answer.index("2027-01-15"), "newest first"


def test_report_ids_are_case_insensitive_with_an_optional_hash(net):
    rid = file_report(net, "REPORT 415 555 0199 no pay")
    assert "approved" in net.reply(ORGANIZER, f"approve #{rid.lower()}")
    assert "already" in net.reply(ORGANIZER, f"APPROVE # {rid}")
    assert "match: 1" in net.reply(ROSE, "CHECK 415 555 0199")


def test_reject_drops_a_report(net):
    rid = file_report(net, "REPORT 415 555 0199 scary guy")
    assert "dropped" in net.reply(ORGANIZER, f"REJECT #{rid}")
    assert "No approved" in net.reply(ANA, "CHECK 415 555 0199")
    assert "no open report" in net.reply(ORGANIZER, f"APPROVE {rid}")
    assert "No reports" in net.reply(ORGANIZER, "REPORTS")
    assert net.redis.exists(ReportKeys.report.format(rid=rid)) == 0


def test_reject_withdraws_an_approved_report_from_screening(net):
    rid = file_report(net, "REPORT 415 555 0199 scary guy")
    net.reply(ORGANIZER, f"APPROVE {rid}")
    net.reply(ORGANIZER, f"REJECT {rid}")
    assert "No approved" in net.reply(ANA, "CHECK 415 555 0199")


def test_reports_lists_pending_ids_in_one_text_and_says_how_many_more(net):
    assert "No reports" in net.reply(ORGANIZER, "REPORTS")
    for i in range(25):
        net.redis.delete(Keys.rate.format(pid=net.line.store.pid_for(ROSE), kind="report"))
        net.redis.delete(Keys.flood.format(h=net.line.store.number_hash(ROSE)))  # 25 texts in a minute
        file_report(net, f"REPORT guy number {i} was rude")
    listing = net.reply(ORGANIZER, "REPORTS")
    assert gsm7.septets(listing) <= 160
    shown = re.findall(r"#[2-9A-HJ-NP-Z]{5}", listing)
    assert 5 <= len(shown) < 25
    assert f"and {25 - len(shown)} more" in listing


def test_only_organizers_review_reports_and_only_members_report(net):
    assert "Only organizers" in net.reply(ROSE, "REPORTS")
    assert "Only organizers" in net.reply(ROSE, "APPROVE ABCDE")
    assert "Only organizers" in net.reply(ROSE, "BROADCAST hi")
    assert "Only organizers" in net.reply(ROSE, "CARD hi")
    assert "REPORT" not in net.reply("+14155550177", "REPORT 415 555 0199 hit me")
    assert net.take(ORGANIZER) == []


def test_report_and_check_without_text_get_their_usage(net):
    assert "REPORT and what happened" in net.reply(ROSE, "REPORT")
    assert "CHECK and their number" in net.reply(ROSE, "check")
    assert "not a phone number or a plate" in net.reply(ROSE, "CHECK tonight")
    assert "APPROVE id" in net.reply(ORGANIZER, "APPROVE")


def test_identifiers_are_kept_only_as_keyed_hashes_and_redacted_from_the_stored_text(net):
    """Nothing of a report is in the clear in Redis: identifiers as keyed hashes, the texts sealed."""
    rid = file_report(net, "REPORT Rose here. 415-555-0199 robbed me, plate 7ABC 123. Call me at 415 555 0102")
    report = net.redis.hgetall(ReportKeys.report.format(rid=rid))
    assert report[b"text"].startswith(b"s1."), "the redacted text is sealed too"
    text = reports_for(net.line).get(rid, net.now)["text"]
    assert "555" not in text and "7ABC" not in text and "Rose" not in text
    assert "[number]" in text and "[plate]" in text
    secret = net.line.settings.secret_key
    hashes = set(report[b"ids"].decode().split(","))
    assert hashes == {screen_hash(secret, "+14155550199"), screen_hash(secret, "7ABC123")}, \
        "the reporter's own number is not screened"
    assert len(next(iter(hashes))) == 64, "full-length HMAC-SHA256"
    stored = redis_contents(net, "sl:rep:*")
    for raw in (b"4155550199", b"7ABC123", b"4155550102", b"0199", b"Rose", b"robbed", b"[number]"):
        assert raw not in stored


def test_reports_and_their_index_expire_after_report_days(make_world):
    """Every key of a report has a TTL; by the line's clock an old report stops counting and is pruned."""
    w = make_world(dict(FAST, report_days=30))
    enroll(w, ROSE, "Rose")
    rid = file_report(w, "REPORT 415 555 0199 hit me")
    w.reply(ORGANIZER, f"APPROVE {rid}")
    pending = file_report(w, "REPORT 415 555 0198 hit me")
    ix = ReportKeys.index.format(h=screen_hash(w.line.settings.secret_key, "+14155550199"))
    for key in (ReportKeys.report.format(rid=rid), ReportKeys.report.format(rid=pending), ix):
        assert 29 * DAY < w.redis.ttl(key) <= 30 * DAY, key
    w.now += 29 * DAY
    assert "match: 1" in w.reply(ROSE, "CHECK 415 555 0199")
    assert f"#{pending}" in w.reply(ORGANIZER, "REPORTS")
    w.now += 1 * DAY + 60
    assert "No approved" in w.reply(ROSE, "CHECK 415 555 0199")
    assert "No reports" in w.reply(ORGANIZER, "REPORTS")
    assert "no open report" in w.reply(ORGANIZER, f"APPROVE {pending}")
    from smsline.reports import export_csv

    assert export_csv(w.line, io.StringIO()) == 0
    assert w.redis.zcard(ix) == 0 and w.redis.zcard(ReportKeys.approved) == 0
    assert w.redis.zcard(ReportKeys.pending) == 0


def test_check_is_rate_limited_per_member(net):
    for _ in range(10):
        assert "Too many" not in net.reply(ROSE, "CHECK 415 555 0100")
    assert "Too many checks" in net.reply(ROSE, "CHECK 415 555 0100")
    assert "Too many" not in net.reply(ANA, "CHECK 415 555 0100"), "the limit is per member"


def test_no_text_ever_reveals_the_reporter(net):
    """Neither the reporter's number nor alias reaches anyone but the organizers' forward and the reporter."""
    enroll(net, BEA, "Bea")
    net.reply(BEA, "NAME Starlight")
    replies = []
    rid = report_id(net.reply(BEA, "REPORT Starlight here: 415-555-0199 hit me, plate 7ABC123. My cell 415 555 0104"))
    replies += net.text(ORGANIZER, f"APPROVE {rid} SEND")
    rid2 = report_id(net.reply(BEA, "REPORT 4155550199 stole my bag"))
    replies += net.text(ORGANIZER, f"APPROVE {rid2}")
    for who in (ROSE, ANA):
        for q in ("4155550199", "7ABC123", "415 555 0104"):
            replies += net.text(who, f"CHECK {q}")
    replies += net.text(ORGANIZER, "REPORTS")
    texts = [body for to, body in every_text(net) if to != BEA and "REJECT" not in body] + replies
    assert any("415-555-0199" in b for to, b in every_text(net) if to == ROSE), "the warning keeps the number"
    assert any("match: 2" in t for t in texts)
    for t in texts:
        assert "Starlight" not in t and "0104" not in t and BEA not in t, t
    forward = [b for to, b in every_text(net) if to == ORGANIZER and "REJECT" in b]
    assert forward and all("0104" not in b for b in forward), "not even the forward shows the reporter's number"
    out = io.StringIO()
    from smsline.reports import export_csv

    export_csv(net.line, out)
    assert "Starlight" not in out.getvalue() and "0104" not in out.getvalue()


def test_approve_send_warns_the_other_members_with_the_plate_and_number_worded_as_a_broadcast(net):
    """Members get what they must look out for; the reporter gets no copy of their own warning."""
    enroll(net, BEA, "Bea")
    rid = file_report(net, "REPORT 415-555-0199 took the condom off, plate 7ABC 123. Rose here, 415 555 0102")
    reply = net.reply(ORGANIZER, f"APPROVE {rid} SEND")
    assert "Members: 2" in reply
    assert net.take(ROSE) == [], "the reporter is not sent their own warning"
    for who in (ANA, BEA):
        got = net.take(who)
        assert got == [messages.render("broadcast", "en", network="Line", note=got[0].split(": ", 1)[1])], \
                "worded as a BROADCAST"
        assert "415-555-0199" in got[0] and "7ABC 123" in got[0] and "[plate]" not in got[0]
        assert "0102" not in got[0] and "Rose" not in got[0], "nothing points to the reporter"
    assert any("gone out" in t for t in net.take(ORGANIZER))
    assert not net.redis.exists(ReportKeys.sealed.format(rid=rid)), "the full text and reporter link are gone"
    assert "removed protection" in net.reply(ANA, "CHECK 7ABC123")


def test_until_the_decision_the_full_text_and_reporter_are_kept_sealed_and_reject_drops_them(net):
    rid = file_report(net, "REPORT 415-555-0199 hit me near the Zebra Motel")
    raw = net.redis.get(ReportKeys.sealed.format(rid=rid))
    assert raw.startswith(b"s1.") and b"Zebra" not in raw and b"0199" not in raw
    assert net.redis.ttl(ReportKeys.sealed.format(rid=rid)) > 0
    net.reply(ORGANIZER, f"REJECT {rid}")
    assert not net.redis.exists(ReportKeys.sealed.format(rid=rid))


def test_a_plain_approve_keeps_the_full_text_a_week_for_a_later_send_then_only_hashes(net):
    rid = file_report(net, "REPORT plate 7ABC123 hit me", by=ANA)
    assert "approved" in net.reply(ORGANIZER, f"APPROVE {rid}")
    assert 0 < net.redis.ttl(ReportKeys.sealed.format(rid=rid)) <= 7 * DAY
    net.reply(ORGANIZER, f"APPROVE {rid} SEND")
    assert net.take(ROSE) == ["Line: plate 7ABC123 hit me"] and net.take(ANA) == []
    rid2 = file_report(net, "REPORT plate 9XYZ123 hit me", by=ANA)
    net.reply(ORGANIZER, f"APPROVE {rid2}")
    net.redis.delete(ReportKeys.sealed.format(rid=rid2))  # what the week's expiry does
    assert "no longer kept" in net.reply(ORGANIZER, f"APPROVE {rid2} SEND")
    assert net.take(ROSE) == []
    assert "match: 1" in screen(net, "9XYZ123", who=ROSE), "the keyed hashes still count for CHECK"


def test_approve_send_with_text_sends_the_organizers_words_to_everyone_but_the_reporter(net):
    rid = file_report(net, "REPORT 415-555-0199 hit me")
    net.reply(ORGANIZER, f"APPROVE {rid} SEND Careful with a man in a grey honda near 5th st")
    assert net.take(ANA) == ["Line: Careful with a man in a grey honda near 5th st"]
    assert net.take(ROSE) == []


# ---------------------------------------------------------------- broadcasts


def test_broadcast_reaches_joined_members_only_and_tells_the_organizer_count_and_finish(net):
    invitee, quitter = "+14155550120", BEA
    net.text(ORGANIZER, f"ADD {invitee} Ivy")
    enroll(net, quitter, "Bea")
    net.text(quitter, "STOP")
    net.take(invitee)
    reply = net.reply(ORGANIZER, "BROADCAST Heads up: stay in pairs tonight.")
    assert "Members: 2" in reply and "Texts: 2" in reply
    assert net.take(ROSE) == ["Line: Heads up: stay in pairs tonight."]
    assert net.take(ANA) == ["Line: Heads up: stay in pairs tonight."]
    assert net.take(invitee) == [] and net.take(quitter) == []
    assert [t for t in net.take(ORGANIZER)] == [messages.render("broadcast_done", count=2)]


def test_broadcast_counts_segments_and_refuses_more_than_three_with_its_length(net):
    long = "Stay safe. " * 42  # 462 characters
    reply = net.reply(ORGANIZER, f"BROADCAST {long}")
    assert "461 characters" in reply and "4 texts" in reply, reply
    assert net.take(ROSE) == [] and net.take(ANA) == []
    reply = net.reply(ORGANIZER, "BROADCAST " + "x" * 300)
    assert "Texts: 4" in reply, "two members, two segments each"
    assert net.take(ROSE) == ["Line: " + "x" * 300]


def test_broadcast_text_is_made_gsm7(net):
    net.reply(ORGANIZER, "BROADCAST Cuidado esta noche \u2014 Mar\u00eda dice \u201chola\u201d \U0001F642")
    got = net.take(ROSE)
    assert got == ['Line: Cuidado esta noche - Maria dice "hola" ?'] and gsm7.is_gsm7(got[0])


# ---------------------------------------------------------------- rights card


def test_rights_card_in_english_and_spanish(net):
    en = net.reply(ROSE, "RIGHTS")
    assert en.startswith("Know your rights") and "lawyer" in en
    net.text(ANA, "LANG ES")
    es = net.reply(ANA, "DERECHOS")
    assert es.startswith("Conoce tus derechos") and "abogado" in es
    for card in (en, es):
        assert gsm7.is_gsm7(card) and gsm7.septets(card) <= 459


@pytest.mark.parametrize("lang", ["en", "es"])
def test_shipped_cards_are_gsm7_three_segments_and_discreet(lang):
    from smsline.reports import CARDS

    text = " ".join((CARDS / f"{lang}.txt").read_text(encoding="utf-8").split())
    assert gsm7.is_gsm7(text) and gsm7.septets(text) <= 459
    assert not re.search(r"\b(sex\w*|clients?|police\w*|cops?|officers?|arrest\w*|policia)\b", text, re.I)
    # What the issue asks a card to cover: staying silent, leaving, searches, a lawyer, who to call.
    needed = {"en": ("silent", "free to go", "consent to a search", "lawyer", "Call your buddy"),
              "es": ("silencio", "¿Me puedo ir?", "permiso para un registro", "abogado", "Llama a tu contacto")}
    for words in needed[lang]:
        assert words in text


def test_card_replaces_a_language_after_confirmation(net):
    net.text(ANA, "LANG ES")
    reply = net.reply(ORGANIZER, "CARD ES Tus derechos: no tienes que abrir la puerta. Llama al 555 0100.")
    assert "CARD" in reply and "YES" in reply
    assert net.reply(ANA, "RIGHTS").startswith("Conoce"), "nothing changes before the confirmation"
    assert "replaced" in net.reply(ORGANIZER, "card yes")
    assert net.reply(ANA, "RIGHTS").startswith("Tus derechos: no tienes")
    assert net.reply(ROSE, "RIGHTS").startswith("Know your rights"), "English is untouched"


def test_card_without_a_language_replaces_english_and_can_be_cancelled(net):
    net.reply(ORGANIZER, "CARD Your rights: you can say no.")
    assert "not used" in net.reply(ORGANIZER, "CARD NO")
    assert "No new card" in net.reply(ORGANIZER, "CARD YES")
    net.reply(ORGANIZER, "CARD Your rights: you can say no.")
    net.reply(ORGANIZER, "CARD YES")
    assert net.reply(ROSE, "RIGHTS") == "Your rights: you can say no."


def test_card_confirmation_lapses_after_ten_minutes(net):
    net.reply(ORGANIZER, "CARD Your rights: short.")
    net.now += 11 * 60
    assert "No new card" in net.reply(ORGANIZER, "CARD YES")
    assert net.reply(ROSE, "RIGHTS").startswith("Know your rights")


def test_card_longer_than_three_segments_is_refused_with_its_length(net):
    reply = net.reply(ORGANIZER, "CARD " + "y" * 470)
    assert "470 characters" in reply and "4 texts" in reply
    assert "No new card" in net.reply(ORGANIZER, "CARD YES")


# ---------------------------------------------------------------- export


def test_reports_export_is_a_csv_of_approved_reports_with_redacted_text(net):
    a = file_report(net, "REPORT 415-555-0199 hit me")
    file_report(net, "REPORT 415-555-0198 never paid")  # pending: not exported
    net.reply(ORGANIZER, f"APPROVE {a}")
    result = net.app.test_cli_runner().invoke(args=["reports", "export"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["id", "reported", "approved", "categories", "text"]
    assert rows[1:] == [[a, "2027-01-15", "2027-01-15", "violence", "[number] hit me"]]


# ---------------------------------------------------------------- identifiers (pure)


@pytest.mark.parametrize(
    "text, plates",
    [
        ("plate 7ABC 123 grey honda", ["7ABC123"]),
        ("placa: xyz-987", ["XYZ987"]),
        ("his tag is 8XYZ221", ["8XYZ221"]),
        ("white van ABC 1234 parked", ["ABC1234"]),
        ("car 7abc123", ["7ABC123"]),
        ("met at 10:30pm in room 212, paid 200usd", []),
        ("at 1030pm, hotel rm 212, 3rd floor, 45min", []),
        ("I was there 2 hours", []),
        ("nothing to see here", []),
    ],
)
def test_plates_are_found_without_mistaking_times_rooms_or_words(text, plates):
    found = [v for kind, v, _, _ in find_identifiers(text, "US") if kind == "plate"]
    assert found == plates


def test_numbers_are_found_in_any_common_format():
    text = "called from (415) 555-0199 then +1 415 555 0198 and 415.555.0197"
    found = [v for kind, v, _, _ in find_identifiers(text, "US") if kind == "number"]
    assert found == ["+14155550199", "+14155550198", "+14155550197"]


@pytest.mark.parametrize("raw, plate", [("7abc-123", "7ABC123"), (" 7 ABC 123 ", "7ABC123"), ("hello", None),
                                        ("ABCDEFGHI1", None)])
def test_plates_normalize_to_upper_case_letters_and_digits(raw, plate):
    assert normalize_plate(raw) == plate


@pytest.mark.parametrize(
    "text, cats",
    [
        ("he punched me", ["violence"]),
        ("stole my phone", ["robbery"]),
        ("took the condom off", ["protection"]),
        ("didn't pay, fake bills", ["no_pay"]),
        ("kept texting threats", ["threats"]),
        ("me robaron y me amenazo", ["robbery", "threats"]),
        ("just weird", ["other"]),
    ],
)
def test_categories_come_from_the_words_of_the_report(text, cats):
    assert categories(text) == cats


# ---------------------------------------------------------------- pacing (pinned clocks)


def queue_texts(w, n: int, body: str = "hello") -> dict:
    from smsline.rendering import Outgoing

    texts = [Outgoing(id=f"t-{i}", to=f"+1415555{1000 + i:04d}", body=body) for i in range(n)]
    return pacing.queue_batch(w.line, texts)


def test_pacing_hands_over_no_more_than_the_rate_allows(make_world):
    """At 2 segments a second: a first chunk of at most 2 s worth, then 2 a second, whatever the job cadence."""
    w = make_world({"send_rate": 2.0})
    w.line.redis.delete(pacing.BulkKeys.chain)
    queue_texts(w, 40)
    t0 = 1_000_000.0
    taken = []
    for step in range(16):
        now = t0 + step * 0.5
        taken.append(len(pacing.take(w.line, now, f"c{step}")))
    assert taken[0] == 5
    assert sum(taken) <= 5 + 2 * 7.5 + 1
    assert sum(taken[4:]) == pytest.approx(2 * 6, abs=1)


def test_pacing_counts_segments_not_texts(make_world):
    w = make_world({"send_rate": 3.0})
    queue_texts(w, 10, body="z" * 400)  # three segments each
    t0 = 1_000_000.0
    assert len(pacing.take(w.line, t0, "a")) == 3  # 2 s of credit and burst at 3/s: 6 segments, plus one started
    assert len(pacing.take(w.line, t0 + 1, "b")) == 1


def test_a_chunk_abandoned_by_a_dead_worker_is_sent_once_later(make_world):
    w = make_world(FAST)
    queue_texts(w, 3)
    w.redis.delete(pacing.BulkKeys.chain)
    import time

    now = time.time()
    taken = pacing.take(w.line, now, "dead")
    assert len(taken) == 3 and pacing.pending(w.line) == 3
    # The dead worker had handed the first text over before it died.
    w.redis.set(Keys.sent.format(mid=taken[0]["id"]), "sent")
    assert pacing.run_chunk(now=now + 10, reschedule=False) == 0, "a fresh chunk is not stolen"
    assert pacing.run_chunk(now=now + pacing.STALE_SECONDS + 1, reschedule=False) == 2
    from smsline.sending import open_texts

    assert sorted(s.to for s in w.transport.sent) == sorted(t["to"] for t in open_texts(w.line, taken[1:])[0])
    assert pacing.pending(w.line) == 0


def test_retryable_failures_go_back_in_the_outbox_and_permanent_ones_are_dropped(make_world):
    w = make_world(FAST)
    queue_texts(w, 3)
    w.transport.fail["+14155551000"] = SendError(20429, 429, True)
    w.transport.fail["+14155551001"] = SendError(21211, 400, False)
    w.run_jobs()
    assert [s.to for s in w.transport.sent] == ["+14155551002"]
    assert pacing.pending(w.line) == 1
    del w.transport.fail["+14155551000"]
    pacing.drain(w.line)
    assert sorted(s.to for s in w.transport.sent) == ["+14155551000", "+14155551002"]


def test_kick_starts_one_chain_only(make_world):
    w = make_world({"send_rate": 1.0})
    queue_texts(w, 5)  # queue_batch kicked already
    assert pacing.kick(w.line) is False
    bulk = w.line.queues["smsline-bulk"]
    assert bulk.count == 1
    w.redis.delete(pacing.BulkKeys.chain)  # the chain's mark lapsed: a crash, a lost job
    assert pacing.kick(w.line) is True and bulk.count == 2
    w.run_jobs()
    assert 1 <= len(w.transport.sent) <= 3
    assert pacing.kick(w.line) is False, "the running chain has scheduled its next chunk"
