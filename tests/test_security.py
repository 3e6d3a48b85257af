"""Protections docs/SECURITY.md counts on: logs mask numbers and keep no bodies, organizer commands need an
organizer, and no text a phone can send gets a 500 or a reply that is not GSM-7 or too long."""
from __future__ import annotations

import logging
import random
import xml.etree.ElementTree as ET

import pytest

from smsline.gsm7 import is_gsm7, septets
from tests.conftest import BUDDY, MEMBER, ORGANIZER

NOTE = "Motel Sunrise room 12 plate KX4471"
STRANGER = "+14155550177"


def _digits(number: str) -> str:
    return number.lstrip("+")


def test_a_whole_alarm_leaves_no_number_and_no_body_in_the_logs(network, caplog):
    """Start with a note, SOS, ACK, OK and a report, at the level the processes log: numbers only masked, no texts."""
    caplog.set_level(logging.INFO)
    w = network
    w.text(MEMBER, f"START 60 {NOTE}")
    w.text(MEMBER, "SOS")
    w.text(BUDDY, "ACK")
    w.text(MEMBER, "OK")
    w.text(MEMBER, "REPORT bad date 415 555 0199 blue van")
    w.text(STRANGER, "hello is this the line")
    assert w.inbox(BUDDY), "the alarm reached the buddy (the scenario ran)"
    logged = caplog.text
    for number in (MEMBER, BUDDY, ORGANIZER, STRANGER):
        assert _digits(number) not in logged and _digits(number)[1:] not in logged, number
    for words in (NOTE, "blue van", "hello is this"):
        assert words not in logged


ORGANIZER_ONLY = ["ADD +14155550188 Vi", "REMOVE +14155550103", "ORGANIZER +14155550188", "MEMBERS", "ALERTS",
                  "BROADCAST police checkpoint on 5th", "REPORTS", "APPROVE AB12", "REJECT AB12",
                  "CARD new card text"]


@pytest.mark.parametrize("text", ORGANIZER_ONLY, ids=[t.split()[0] for t in ORGANIZER_ONLY])
def test_an_organizer_command_from_a_member_is_refused_and_reaches_no_one(network, text):
    w = network
    replies = w.text(MEMBER, text)
    assert replies and all(r for r in replies)  # a short reply, never silence
    assert not w.transport.sent, "nobody else was texted"
    said = " ".join(replies)
    for other in (BUDDY, ORGANIZER, "+14155550188"):
        assert other[-4:] not in said
    assert w.line.store.pid_for("+14155550188") is None
    assert w.line.store.pid_for(BUDDY) is not None


PIECES = ["START", "OK", "SOS", "YES", "NO", "ACK", "BUDDY", "ADD", "WIPE", "STOP", "HELP", "LANG", "ES",
          "SAFEWORD", "REPORT", "CHECK", "APPROVE", "CARD", "h", "m", "min", "pm", ":", ".", ",", "#", "+", "(",
          " ", "\n", "1", "12", "30", "9999999", "+14155550199", "ñ", "é", "ß", "€", "🙂", "\u200b", "\x00",
          "<", "&", "]]>", "'", '"', "x" * 200]


def test_random_texts_from_every_kind_of_sender_get_200_and_gsm7_replies_that_fit(network):
    """240 random texts (commands, numbers, markup, odd code points) from an organizer, a member with a timer
    running, a buddy and a stranger: every answer is 200 TwiML, every reply GSM-7 and within three segments."""
    w = network
    w.text(MEMBER, "START 600 corner cafe")
    rng = random.Random(20261202)
    senders = [ORGANIZER, MEMBER, BUDDY, STRANGER]
    for i in range(240):
        body = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 8)))
        sender = senders[i % len(senders)]
        resp = w.post(sender, body)
        assert resp.status_code == 200, (sender, body)
        for message in ET.fromstring(resp.data).iter("Message"):
            text = message.text or ""
            assert is_gsm7(text) and septets(text) <= 459, (body, text)
        w.run_jobs()
