"""Pure tables for the catalog (smsline/messages.py) and the GSM-7 alphabet (smsline/gsm7.py).

Every key in every language is rendered with worst-case fields: each text must
stay GSM-7 and within its limit, say nothing that names sex work, clients or
police, and keep its fixed wording whole.
"""

import re
import string
import sys

import pytest

from smsline import gsm7, messages
from smsline.gsm7 import fold, is_gsm7, segments, septets

LANG_KEYS = [(lang, key) for lang, table in messages.CATALOG.items() for key in table]


def placeholders(template: str) -> set[str]:
    """The field names a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def exactly(n: int, text: str) -> str:
    """text repeated and cut to exactly n characters."""
    out = (text * (n // len(text) + 1))[:n]
    assert len(out) == n
    return out


# Worst cases: the longest and least GSM-friendly values each field can carry.
# Notes are cut to 300 characters by the service; aliases and buddy names to 20.
NOTE = exactly(300, "\u201cHotel Mirabel\u201d rm 12 \u2014 blue Honda \U0001F697 {ABC-123} \u20ac40 \u2026 \u00e1\u00ed\u00f3 ")
ALIAS = exactly(20, "\u20ac{Ros\u00e9}[M\u00e1ria]|~^")          # extension characters count two septets
NETWORK = exactly(30, "Red Mutua \u201cNorte\u201d {\u20ac} ")
TIME = "Wed 12:45pm"
NUMBER = "...0100"                                               # phones.mask: only the last four digits
PHONE = "+" + "9" * 15                                           # an alert's callback number: E.164, 15 digits at most
LIST = ", ".join([f"{ALIAS}* ...0100 (waiting)"] * 12)           # MEMBERS, BUDDIES, YES-which lists

WORST = {
    "network": NETWORK,
    "member": ALIAS,
    "alias": ALIAS,
    "name": ALIAS,
    "by": ALIAS,
    "note": NOTE,
    "names": ", ".join([ALIAS] * 12),
    "suggestion": "EXTEND " + "9" * 40,
    "list": LIST,
    "number": NUMBER,
    "phone": PHONE,
    "end_at": TIME,
    "alert_at": TIME,
    "started_at": TIME,
    "count": 99999,
    "round": 106,
    "minutes": 1440,
    "id": "WWWWW",  # network: report ids are 5 characters
    "texts": 99999,
    "language": "ES",
    "what": exactly(80, "a las 11 \u00bfde la ma\u00f1ana? \U0001F642 "),  # the words of the time not understood
    "h": "99",
    "m": "99",
    "gateway": "Android",  # gateways.NAMES
    "backup": "Android",
    "max": 459,  # fixb: the longest a broadcast may be (459 less the line's name)
}

# A *_part field is a finished piece rendered from its own key, as the service does.
PARTS = {"note_part": ("part_note", "note"), "ack_part": ("part_ack", "by"), "list_part": ("part_list", "list"),
         "reach_part": ("part_unreachable", "names"), "flags_part": ("part_no_buddy", "list")}


def worst_fields(template: str, lang: str) -> dict:
    fields = {}
    for name in placeholders(template):
        if name in PARTS:
            key, inner = PARTS[name]
            fields[name] = messages.render(key, lang, **{inner: WORST[inner]})
        else:
            fields[name] = WORST[name]
    return fields


def test_every_placeholder_in_the_catalog_has_a_worst_case_value():
    """A new placeholder needs a worst case here before the length test can vouch for it."""
    used = {name for table in messages.CATALOG.values() for t in table.values() for name in placeholders(t)}
    assert used - set(WORST) - set(PARTS) == set()


def test_worst_case_values_really_are_worst_case():
    assert len(NOTE) == 300 and not is_gsm7(NOTE)
    assert len(ALIAS) == 20 and septets(fold(ALIAS)) >= 30
    assert len(NETWORK) == 30 and not is_gsm7(NETWORK)
    assert "\U0001F697" in NOTE and "\u201c" in NOTE and "\u2014" in NOTE


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize("lang, key", LANG_KEYS)
def test_every_text_rendered_with_worst_case_fields_is_gsm7_and_fits_its_limit(lang, key):
    template = messages.CATALOG[lang][key]
    text = messages.render(key, lang, **worst_fields(template, lang))
    assert is_gsm7(text), [c for c in text if not is_gsm7(c)]
    assert septets(text) <= messages.limit_for(key), (septets(text), text)


@pytest.mark.parametrize("lang, key", LANG_KEYS)
def test_shortening_a_text_to_fit_never_cuts_its_fixed_wording(lang, key):
    """Only the free-text fields are shortened: instructions such as 'Reply ACK' always arrive whole."""
    template = messages.CATALOG[lang][key]
    text = messages.render(key, lang, **worst_fields(template, lang))
    for literal, _, _, _ in string.Formatter().parse(template):
        assert literal in text


@pytest.mark.parametrize("lang, key", LANG_KEYS)
def test_a_text_rendered_with_its_fields_missing_is_still_gsm7_and_fits(lang, key):
    text = messages.render(key, lang)
    assert is_gsm7(text)
    assert septets(text) <= messages.limit_for(key)


@pytest.mark.parametrize(
    "key, limit",
    [("start_ok", 160), ("ok_ended", 160), ("ack_member", 160), ("standdown", 160), ("reminder", 160),
     ("alert", 459), ("alert_repeat", 459), ("alert_last", 459), ("sos", 459), ("ack_stale", 459),
     ("alert_note", 459), ("alert_repeat_note", 459), ("sos_note", 459), ("duress", 459), ("duress_note", 459),
     ("help", 459), ("help_organizer", 459), ("help_buddy", 459), ("invite_buddy", 459)],
)
def test_replies_fit_one_sms_and_alerts_and_help_fit_three(key, limit):
    assert messages.limit_for(key) == limit


@pytest.mark.parametrize("kind", ["alert_note", "alert_repeat_note", "alert_last", "sos_note", "duress_note",
                                  "ack_stale"])
def test_an_alert_shortens_the_note_only_as_far_as_three_segments_need(kind):
    """The note (where, who, plate) is what a buddy acts on: it is cut only when the alert would not fit in 459.

    The service builds note_part with render("part_note") and puts it in the alert, so the piece
    must not be cut to one SMS on its own before the alert's own limit applies.
    """
    note = exactly(280, "Hotel Mirabel room 12 with a tall man ") + " plate ABC123"
    note_part = messages.render("part_note", "en", note=note)
    text = messages.render(kind, "en", network="the line", member="Rose", started_at=TIME, alert_at=TIME,
                           round=2, note_part=note_part, phone=PHONE)
    assert septets(text) <= 459
    assert note in text or septets(text) >= 459 - 3, (septets(text), text)
    assert PHONE in text


def test_a_note_far_too_long_is_shortened_with_an_ellipsis_and_keeps_its_start():
    text = messages.render("alert_note", "en", network=NETWORK, member=ALIAS, started_at=TIME, phone=PHONE,
                           note_part=messages.render("part_note", "en", note="Hotel Mirabel " + "x" * 2000))
    assert septets(text) <= 459
    assert PHONE in text
    assert "Note: Hotel Mirabel" in text
    assert "..." in text


# ---------------------------------------------------------------- languages and placeholders


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_catalog_carries_english_and_spanish(lang):
    """SPEC: LANG takes EN and ES at least; lang_usage and help already offer LANG ES."""
    assert lang in messages.CATALOG
    assert lang in messages.LANGS


def test_every_language_that_lang_usage_offers_exists():
    offered = {code.lower() for code in re.findall(r"LANG ([A-Z]{2})\b", messages.EN["lang_usage"])}
    assert offered <= set(messages.LANGS)


@pytest.mark.parametrize("lang", sorted(messages.CATALOG))
def test_every_language_has_exactly_the_keys_of_english(lang):
    assert set(messages.CATALOG[lang]) == set(messages.EN)


@pytest.mark.parametrize("lang, key", LANG_KEYS)
def test_every_language_uses_the_same_placeholders_as_english_for_each_key(lang, key):
    assert placeholders(messages.CATALOG[lang][key]) == placeholders(messages.EN[key])


# ---------------------------------------------------------------- discretion and wording

BANNED = re.compile(
    r"\b(sex\w*|escorts?|escorting|clients?|johns?|tricks?|police\w*|cops?|officers?|arrest\w*|"
    r"raids?|prostitut\w*|hookers?|punters?|sugar\w*|dates?)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    "text, banned",
    [
        ("a bad date", True), ("DATES", True), ("Sex work", True), ("sexworker", True), ("the client", True),
        ("a John", True), ("turn a trick", True), ("Police", True), ("cops", True), ("officer", True),
        ("arrested", True), ("a raid", True), ("prostitution", True), ("sugar daddy", True), ("punter", True),
        ("update", False), ("updated", False), ("copy", False), ("Essex", False), ("escorted", False),
        ("clientele", False), ("Johnson", False), ("raider", False), ("trickle", False), ("candidate", False),
    ],
)
def test_the_banned_word_check_catches_words_not_fragments(text, banned):
    assert bool(BANNED.search(text)) is banned


@pytest.mark.parametrize("lang, key", LANG_KEYS)
def test_no_text_names_sex_work_clients_or_police(lang, key):
    """The phone may be seen by others: the line's own wording stays discreet."""
    assert BANNED.findall(messages.CATALOG[lang][key]) == []


SMART = "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u2013\u2014\u2015\u2026\u00a0\u2022"


@pytest.mark.parametrize("lang, key", LANG_KEYS)
def test_templates_use_plain_punctuation_and_gsm7_only(lang, key):
    template = messages.CATALOG[lang][key]
    assert [c for c in template if c in SMART] == []
    assert is_gsm7(template), [c for c in template if not is_gsm7(c)]


@pytest.mark.parametrize("lang", sorted(messages.CATALOG))
@pytest.mark.parametrize("key", ["help", "help_organizer", "help_buddy"])
def test_help_never_mentions_the_safe_word_or_duress_commands(lang, key):
    """Organizers teach SAFEWORD and DURESS in person; HELP on a phone in the wrong hands must not show them."""
    text = messages.render(key, lang, network="the line")
    assert not re.search(r"safe\s*-?\s*word|duress", text, re.IGNORECASE)


# ---------------------------------------------------------------- gsm7


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", 0),
        ("hello", 5),
        ("{", 2),
        ("}[]~^|\\\u20ac\f", 18),
        ("a{b", 4),
        ("\u00e9\u00e8\u00f1\u00fc\u00c4\u00df\u00bf\u00a1\u00a3\u00a5@$", 12),
        ("\n\r", 2),
        ("x" * 160, 160),
    ],
)
def test_septets_count_extension_characters_as_two(text, expected):
    assert septets(text) == expected


@pytest.mark.parametrize(
    "text, ok",
    [
        ("Plain text, 123!?", True),
        ("\u00e9", True),              # é is in the basic table
        ("\u00c9\u00e0\u00f2\u00f9\u00ec\u00c7\u00d8\u00c5\u00c6\u0394\u03a9", True),
        ("{}[]~^|\\\u20ac", True),     # the extension table
        ("\u00e1", False),             # á is not GSM-7
        ("\u00ed\u00f3\u00fa", False),
        ("\u2019", False),             # smart quote
        ("\u2014", False),             # em dash
        ("\U0001F642", False),         # emoji
        ("`", False),
        ("\t", False),
        ("\x1b", False),               # the escape code itself is not a character a text may use
    ],
)
def test_is_gsm7_on_known_characters(text, ok):
    assert is_gsm7(text) is ok


def test_the_basic_table_has_127_characters_and_the_extension_10():
    assert len(set(gsm7.BASIC)) == len(gsm7.BASIC) == 127
    assert len(set(gsm7.EXTENSION)) == len(gsm7.EXTENSION) == 10


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", 1),
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("x" * 159 + "{", 2),          # 161 septets
        ("x" * 158 + "{", 1),          # 160 septets
        ("x" * 306, 2),                # 2 x 153
        ("x" * 307, 3),
        ("x" * 459, 3),                # the three-segment limit
        ("x" * 460, 4),
        ("\u20ac" * 80, 1),            # 160 septets
        ("\u20ac" * 81, 2),
        ("\u00e1" * 70, 1),            # UCS-2: 70 in one segment
        ("\u00e1" * 71, 2),            # then 67 a segment
        ("\u00e1" * 134, 2),
        ("\u00e1" * 135, 3),
    ],
)
def test_segments_160_then_153_for_gsm7_and_70_then_67_for_ucs2(text, expected):
    assert segments(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\U0001F642" * 35, 1),        # 70 UTF-16 code units
        ("\U0001F642" * 36, 2),        # 72 code units: more than one segment
        ("\U0001F642" * 70, 3),        # 140 code units
    ],
    ids=["35-emoji", "36-emoji", "70-emoji"],
)
def test_segments_count_ucs2_in_utf16_code_units_so_emoji_count_two(text, expected):
    """Carriers and Twilio count UCS-2 segments in UTF-16 code units; an emoji outside the BMP takes two."""
    assert segments(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("plain", "plain"),
        ("\u00e9\u00f1\u00fc\u00bf\u00a1", "\u00e9\u00f1\u00fc\u00bf\u00a1"),   # already GSM-7: kept
        ("{\u20ac}", "{\u20ac}"),
        ("\u2018hi\u2019 \u201cyou\u201d", "'hi' \"you\""),
        ("a\u2013b\u2014c", "a-b-c"),
        ("wait\u2026", "wait..."),
        ("Mar\u00eda \u00c1ngel", "Maria Angel"),
        ("\u00ed\u00f3\u00fa\u00cd\u00d3\u00da", "iouIOU"),
        ("\u00e7a", "ca"),
        ("a\u00a0b", "a b"),
        ("a\tb", "a b"),
        ("ok \U0001F642", "ok ?"),
        ("\u4f60\u597d", "??"),
    ],
)
def test_fold_makes_what_people_write_gsm7(text, expected):
    assert fold(text) == expected
    assert is_gsm7(fold(text))


def test_fold_reads_a_decomposed_accent_as_the_letter_it_is():
    """'Jose' + combining acute (NFD, as some keyboards send it) is Jose with an accent, not 'Jose?'."""
    assert fold("Jose\u0301") == "Jos\u00e9"
    assert fold("Mari\u0301a") == "Maria"


def test_fold_of_any_character_is_gsm7():
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    assert is_gsm7(fold(every))
