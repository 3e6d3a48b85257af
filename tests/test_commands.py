"""Pure tables for the SMS command parser: what each text a person may send means."""

import random

import pytest

from smsline.commands import Command, _parse, parse, parse_duration


def check(body, name, **fields):
    """Assert that body parses to the named command with these field values."""
    command = parse(body)
    assert command.name == name, command
    for field, value in fields.items():
        assert getattr(command, field) == value, (field, command)


# ---------------------------------------------------------------- empty and unknown


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00", "\u200b", "\ufeff  "])
def test_blank_or_invisible_body_is_empty(text):
    check(text, "EMPTY", word="")


def test_none_is_empty_rather_than_a_crash():
    check(None, "EMPTY")


@pytest.mark.parametrize(
    "text, word",
    [
        ("hello", "HELLO"),
        ("Hello, anyone there?", "HELLO"),
        ("k", "K"),
        ("a" * 2000, "A" * 20),
        ("¿qué?", "QUÉ"),
        ("🙂", ""),
        ("🙂 ok", ""),
        ("...", ""),
    ],
)
def test_unrecognised_text_is_unknown_with_its_first_word(text, word):
    check(text, "UNKNOWN", word=word)


def test_unknown_word_is_truncated_to_twenty_characters():
    assert len(parse("x" * 500 + " more").word) == 20


@pytest.mark.parametrize("text", ["?", " ?? ", "?!"])
def test_a_lone_question_mark_asks_for_help(text):
    check(text, "HELP")


def test_only_the_first_1600_characters_are_read():
    check("BROADCAST " + "a" * 1590 + " tail that is cut off", "BROADCAST", text="a" * 1590)


# ---------------------------------------------------------------- carrier keywords


@pytest.mark.parametrize(
    "text",
    [
        "STOP", "stop", " Stop. ", "STOP!", "STOPALL", "unsubscribe", "Cancel",
        "END", "end.", "QUIT", "revoke", "OPTOUT", "optout!", "stop\n",
    ],
)
def test_an_opt_out_word_alone_opts_out(text):
    check(text, "OPTOUT")


@pytest.mark.parametrize(
    "text, word",
    [("STOP 5", "STOP"), ("cancel timer", "CANCEL"), ("end it", "END"), ("quit now", "QUIT")],
)
def test_an_opt_out_word_with_more_text_means_nothing(text, word):
    check(text, "UNKNOWN", word=word)


@pytest.mark.parametrize(
    "text, word",
    [("START", "START"), ("start.", "START"), ("YES", "YES"), ("yes!", "YES"), ("unstop", "UNSTOP")],
)
def test_a_bare_start_yes_or_unstop_opts_back_in(text, word):
    check(text, "OPTIN", word=word, error=None)


# ---------------------------------------------------------------- OK


@pytest.mark.parametrize(
    "text",
    [
        "ok", "OK", "Ok.", "okay", "OKAY!", "ok thanks", "ok thank you", "ok thx",
        "ok ty", "ok gracias", "okay, thanks!", "ok :)", "OK 🙂", "ok 👍🏽", "ok ok",
        "O.K.", "ok\u200b", "  ok  \n", "ok thanks, bye", "Ok muchas gracias!!",
        "listo", "Listo, gracias", "estoy bien", "Estoy bien.", "ESTOY BIEN GRACIAS",
    ],
)
def test_ok_alone_or_with_a_courtesy_is_ok(text):
    check(text, "OK")


@pytest.mark.parametrize(
    "text",
    [
        "ok but he is still here", "ok 5", "ok 🚨", "ok help", "okay not really",
        "ok thanks but come", "estoy bien pero",
    ],
)
def test_ok_followed_by_more_than_courtesy_is_unclear(text):
    check(text, "OK_UNCLEAR", word=text.split()[0].upper())


def test_a_long_run_of_courtesies_is_unclear():
    """More than eight words after OK is never a courtesy, however polite."""
    check("ok " + "thanks " * 9, "OK_UNCLEAR")


def test_ok_unclear_keeps_what_followed_in_text():
    check("OK but he is still here", "OK_UNCLEAR", text="but he is still here")


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize(
    "text, minutes",
    [
        ("45", 45), ("45m", 45), ("45 m", 45), ("45min", 45), ("45 min", 45),
        ("45 mins", 45), ("45 minutes", 45), ("1 minute", 1), ("1h", 60), ("1 h", 60),
        ("1hr", 60), ("2 hrs", 120), ("1 hour", 60), ("2 hours", 120), ("1h30", 90),
        ("1h 30", 90), ("1h30m", 90), ("1 h 30 min", 90), ("2 hours 15 minutes", 135),
        ("90m", 90), ("1.5h", 90), ("1,5h", 90), ("0.25 hours", 15), ("45 minutos", 45),
        ("1 hora", 60), ("2 horas", 120), ("1H30M", 90), ("45 min.", 45), (" 45 ", 45),
        ("0", 0), ("9999", 9999),
    ],
)
def test_parse_duration_reads_common_spellings(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1:30", "22:30", "1.5", "45abc", "45 min at home", "1h 75", "minutes",
     "1234567", "-5", "🙂", "45 men"],
)
def test_parse_duration_refuses_anything_else(text):
    assert parse_duration(text) is None


# ---------------------------------------------------------------- START


@pytest.mark.parametrize(
    "text, minutes, note",
    [
        ("start 45", 45, ""),
        ("START 45 min", 45, ""),
        ("start 1h", 60, ""),
        ("start 1h30", 90, ""),
        ("START 10", 10, ""),
        ("START 1440", 1440, ""),
        ("START 1", 1, ""),
        ("START 45.", 45, ""),
        ("  start   45   ", 45, ""),
        ("START 45 min at the Hilton rm 212, blue Civic ABC123", 45,
         "at the Hilton rm 212, blue Civic ABC123"),
        ("START 45, Hilton rm 212.", 45, "Hilton rm 212."),
        ("START 45 - Hilton", 45, "Hilton"),
        ("START 10 people at the party", 10, "people at the party"),
        ("START 10 a guy named Joe", 10, "a guy named Joe"),
        ("start 2h 212 Main St", 120, "212 Main St"),
        ("START 1.5h Motel 6\nroom 4", 90, "Motel 6\nroom 4"),
        ("START 30 🙂", 30, "🙂"),
        ("INICIO 30 hotel", 30, "hotel"),
        ("empezar 1 hora", 60, ""),
    ],
)
def test_start_with_a_duration_sets_minutes_and_keeps_the_note_as_typed(text, minutes, note):
    check(text, "START", minutes=minutes, at=None, text=note, error=None, word=text.split()[0].upper())


@pytest.mark.parametrize(
    "text, at, note",
    [
        ("START 10:30pm", (22, 30), ""),
        ("START 10:30 pm", (22, 30), ""),
        ("START 10pm", (22, 0), ""),
        ("START 10 pm", (22, 0), ""),
        ("START 22:30", (22, 30), ""),
        ("START 10.30pm", (22, 30), ""),
        ("START 10:30p", (22, 30), ""),
        ("START 10:30 p.m.", (22, 30), ""),
        ("START 10 a.m. cafe", (10, 0), "cafe"),
        ("START 12am", (0, 0), ""),
        ("START 12pm", (12, 0), ""),
        ("START 12:15am", (0, 15), ""),
        ("START 7:05am", (7, 5), ""),
        ("START 0:30", (0, 30), ""),
        ("START 11PM blue Civic", (23, 0), "blue Civic"),
    ],
)
def test_start_with_a_time_of_day_means_until_then(text, at, note):
    check(text, "START", at=at, minutes=None, text=note, error=None)


@pytest.mark.parametrize(
    "text",
    ["START abc", "START 🙂", "START 25:00", "START 24:00", "START 13pm", "START 0am", "START 10:75",
     "START 45abc", "START 99999999999", "START for 45"],
)
def test_start_with_a_duration_not_understood_is_a_duration_error(text):
    check(text, "START", error="duration", minutes=None, at=None)


@pytest.mark.parametrize("text", ["START 0", "START 9999", "START 1441", "START 25h", "START 0 min"])
def test_start_with_a_duration_out_of_range_is_a_range_error(text):
    """Understood but outside 1 minute..24 hours: the reply may name the range."""
    check(text, "START", error="range", minutes=None, at=None)


def test_a_bare_spanish_start_word_is_a_usage_error():
    check("INICIO", "START", error="usage", minutes=None, at=None)


# ---------------------------------------------------------------- durations and times as people write them


@pytest.mark.parametrize(
    "text, minutes, note",
    [
        ("START media hora", 30, ""),
        ("inicio media hora hotel Sol", 30, "hotel Sol"),
        ("START hora y media", 90, ""),
        ("inicio 1 hora y media", 90, ""),
        ("inicio una hora y media", 90, ""),
        ("START 2 horas y media", 150, ""),
        ("START 1 hora y cuarto", 75, ""),
        ("START 1:30 hrs", 90, ""),
        ("START 1:30h", 90, ""),
        ("START 2:15 horas cafe", 135, "cafe"),
        ("START una hora", 60, ""),
        ("START dos horas", 120, ""),
        ("START treinta minutos", 30, ""),
        ("START cuarto de hora", 15, ""),
        ("START half an hour", 30, ""),
        ("START a half hour", 30, ""),
        ("START an hour", 60, ""),
        ("START an hour and a half", 90, ""),
        ("START 1 and a half hours", 90, ""),
        ("START 1h y media", 90, ""),
        ("empezar 1 hora", 60, ""),
        ("START 45 min en el hotel", 45, "en el hotel"),
    ],
)
def test_durations_as_people_write_them(text, minutes, note):
    check(text, "START", minutes=minutes, at=None, text=note, error=None)


@pytest.mark.parametrize(
    "text, at, halfday, note",
    [
        ("START 11 de la noche", (23, 0), False, ""),
        ("START a las 11 de la noche", (23, 0), False, ""),
        ("START 10 de la mañana", (10, 0), False, ""),
        ("START 10 de la manana cafe", (10, 0), False, "cafe"),
        ("START 5 de la tarde hotel", (17, 0), False, "hotel"),
        ("START 12 de la noche", (0, 0), False, ""),
        ("START 2 de la madrugada", (2, 0), False, ""),
        ("START 11:30 de la noche", (23, 30), False, ""),
        ("START 10 y media de la noche", (22, 30), False, ""),
        ("START a las 11", (11, 0), True, ""),
        ("START a la 1", (1, 0), True, ""),
        ("START hasta las 11:30", (11, 30), True, ""),
        ("START a las 11 y media", (11, 30), True, ""),
        ("START a las 23:00", (23, 0), False, ""),
        ("START a las 11pm", (23, 0), False, ""),
        ("START at 11", (11, 0), True, ""),
        ("START until 9:45", (9, 45), True, ""),
        ("START 11 at night", (23, 0), False, ""),
        ("START 9 in the morning", (9, 0), False, ""),
        ("START 11 o'clock", (11, 0), True, ""),
    ],
)
def test_times_of_day_as_people_write_them(text, at, halfday, note):
    """halfday: no am/pm was given, so the line takes whichever of the two comes first."""
    check(text, "START", at=at, halfday=halfday, minutes=None, text=note, error=None)


@pytest.mark.parametrize("text", ["START 1:30", "inicio 1:30", "START 10:30", "START 12:00", "START 1:30 hotel"])
def test_a_clock_time_without_am_pm_or_hours_is_refused_as_ambiguous(text):
    """'1:30' could be 1 h 30 min or half past one: the line asks rather than guess."""
    check(text, "START", error="clock", minutes=None, at=None)


@pytest.mark.parametrize(
    "text",
    ["START 11 y media", "START 45 y media", "START 10 de la", "START 30 hrs 5 de la tarde",
     "START 13 de la noche", "START 11 de la mañana de la noche", "START 45 and a half", "START 11pm de la noche",
     "START a las", "START a las 25", "START a las 11:75"],
)
def test_a_number_with_time_words_after_it_is_refused_never_misread(text):
    """Never '11 minutes, note: y media': words that show a time was meant refuse the whole text."""
    command = parse(text)
    assert command.error is not None and command.minutes is None and command.at is None, command


@pytest.mark.parametrize(
    "text, minutes",
    [("EXTEND media hora", 30), ("extender media hora", 30), ("MAS hora y media", 90), ("EXTEND 1:30", 90),
     ("mas 1 hora y media", 90), ("EXTEND half an hour", 30)],
)
def test_extend_reads_durations_as_people_write_them(text, minutes):
    check(text, "EXTEND", minutes=minutes, error=None)


@pytest.mark.parametrize("text", ["EXTEND 11 de la noche", "EXTEND abc", "extender 30 y media"])
def test_extend_refuses_a_time_of_day_or_words_it_cannot_read(text):
    check(text, "EXTEND", error="duration", minutes=None)


@pytest.mark.parametrize(
    "text, minutes",
    [("30 min", 30), ("30", 30), ("30 minutos", 30), ("media hora", 30), ("1 hora y media", 90), ("1h30", 90),
     ("1:30 hrs", 90), ("45 min.", 45), ("half an hour", 30)],
)
def test_a_duration_on_its_own_is_a_duration_command(text, minutes):
    """The service answers it with what to text; the parser does not guess START or EXTEND."""
    check(text, "DURATION", minutes=minutes)


# ---------------------------------------------------------------- distress, I'm fine, Spanish words


@pytest.mark.parametrize(
    "text, note",
    [("AUXILIO", ""), ("auxilio", ""), ("¡Auxilio!", ""), ("auxiliooo!!!", ""), ("Ausilio", ""),
     ("SOCORRO", ""), ("socorro me tiene encerrada", "me tiene encerrada"), ("Socoro", ""),
     ("AYUDAME", ""), ("ayúdame", ""), ("Ayúdame!!", ""), ("AYUDENME", ""), ("ayúdenme por favor", ""),
     ("🆘", ""), ("🆘🆘🆘", ""), ("🆘 hotel Sol", "hotel Sol"), ("SOOOS", ""), ("sos!", ""),
     ("auxlio", ""), ("socoror", ""), ("ayúdeme", ""), ("help me", ""), ("Help me!", ""), ("ayuda me", ""),
     ("MAYDAY", "")],
)
def test_distress_words_and_the_sos_emoji_are_sos(text, note):
    check(text, "SOS", text=note, error=None)


@pytest.mark.parametrize("text, name", [("ayuda", "HELP"), ("HELP", "HELP"), ("AYUDAR", "UNKNOWN"),
                                        ("ayudante", "UNKNOWN"), ("socorrista", "UNKNOWN"), ("auxiliar", "UNKNOWN"),
                                        ("borrar", "WIPE")])
def test_words_near_a_distress_word_but_not_one_are_not_sos(text, name):
    assert parse(text).name == name


@pytest.mark.parametrize(
    "text",
    ["im ok thanks", "I'm fine", "i am safe", "Im safe now", "all good", "done", "home!", "ya", "Ya salí",
     "ya sali", "bien", "todo bien", "Todo bien, gracias", "sano y salvo", "Sana y salva!", "ya llegué",
     "estoy a salvo", "ya estoy en casa"],
)
def test_im_fine_phrases_are_fine_never_ok(text):
    """They never end a timer: the service answers how to end it."""
    check(text, "FINE")


@pytest.mark.parametrize("text", ["todo bien pero el tipo esta raro", "ya viene", "bien raro", "fine print"])
def test_more_than_an_im_fine_phrase_is_not_fine(text):
    assert parse(text).name == "UNKNOWN"


@pytest.mark.parametrize(
    "text, name, fields",
    [
        ("Sí", "YES", {"lang": "es"}), ("si 2", "YES", {"choice": 2, "lang": "es"}),
        ("ACEPTO", "YES", {"lang": "es"}), ("claro que si", "YES", {"lang": "es"}),
        ("Claro que sí!", "YES", {"lang": "es"}), ("UNIRME", "JOIN", {"lang": "es"}),
        ("español", "LANG", {"text": "ES", "lang": "es"}), ("ESPANOL", "LANG", {"text": "ES"}),
        ("english", "LANG", {"text": "EN", "lang": None}),
        ("contactos", "BUDDIES", {"lang": "es"}), ("CONTACTO 415 555 0100 Ana", "BUDDY", {"text": "Ana"}),
        ("nombre Lupita", "NAME", {"text": "Lupita", "lang": "es"}), ("borrar", "WIPE", {"text": ""}),
        ("BORRAR SI", "WIPE", {"text": "YES"}), ("borrar sí", "WIPE", {"text": "YES"}),
        ("WIPE SI", "WIPE", {"text": "YES"}), ("WIPE YES", "WIPE", {"text": "YES", "lang": None}),
        ("ya voy", "ACK", {"lang": "es"}), ("VOY", "ACK", {"lang": "es"}), ("prueba", "TEST", {}),
        ("quitar 415 555 0100", "UNBUDDY", {"number": "415 555 0100", "lang": "es"}),
        ("YES", "OPTIN", {"lang": None}), ("OK", "OK", {"lang": None}),
    ],
)
def test_spanish_command_words(text, name, fields):
    check(text, name, **fields)



# ---------------------------------------------------------------- EXTEND


@pytest.mark.parametrize(
    "text, minutes",
    [("EXTEND 30", 30), ("extend 15m", 15), ("Extend 1h!", 60), ("EXTENDER 20", 20), ("más 30", 30),
     ("EXTEND 1h 30", 90)],
)
def test_extend_adds_a_duration(text, minutes):
    check(text, "EXTEND", minutes=minutes, error=None)


@pytest.mark.parametrize("text", ["EXTEND", "extend.", "EXTEND soon", "EXTEND 11pm"])
def test_extend_without_a_good_duration_is_a_duration_error(text):
    check(text, "EXTEND", error="duration", minutes=None)


@pytest.mark.parametrize("text", ["EXTEND 0", "EXTEND 2000"])
def test_extend_out_of_range_is_a_range_error(text):
    check(text, "EXTEND", error="range", minutes=None)


# ---------------------------------------------------------------- free-text commands


@pytest.mark.parametrize(
    "text, note",
    [("SOS", ""), ("sos!", ""), ("SOS !!", ""), ("SOS he has a knife, room 12", "he has a knife, room 12")],
)
def test_sos_alerts_now_with_an_optional_note(text, note):
    check(text, "SOS", text=note, error=None)


def test_dotted_spellings_are_not_keywords_except_ok():
    check("S.O.S", "UNKNOWN")
    check("O.K.", "OK")


@pytest.mark.parametrize(
    "text, name, value",
    [
        ("NAME Rosa", "NAME", "Rosa"),
        ("name  Rosa M. ", "NAME", "Rosa M"),
        ("REPORT grey van, plate 7XYZ123, aggressive", "REPORT", "grey van, plate 7XYZ123, aggressive"),
        ("SAFEWORD pineapple", "SAFEWORD", "pineapple"),
        ("safe word Pineapple", "SAFEWORD", "Pineapple"),
        ("DURESS tangerine", "DURESS", "tangerine"),
        ("BROADCAST Careful tonight:\n  grey van on 5th.", "BROADCAST", "Careful tonight:\n  grey van on 5th."),
    ],
)
def test_text_arguments_keep_their_case_and_inner_punctuation(text, name, value):
    check(text, name, text=value, error=None)


@pytest.mark.parametrize(
    "text, name",
    [("NAME", "NAME"), ("name.", "NAME"), ("SAFEWORD", "SAFEWORD"), ("DURESS!", "DURESS"),
     ("LANG", "LANG"), ("REPORT", "REPORT"), ("CHECK", "CHECK"), ("BROADCAST", "BROADCAST"),
     ("APPROVE", "APPROVE"), ("APPROVE #", "APPROVE"), ("REJECT", "REJECT"), ("CARD", "CARD"),
     ("CARD ES", "CARD"), ("safe word", "SAFEWORD")],
)
def test_a_bare_keyword_that_needs_an_argument_is_a_usage_error(text, name):
    check(text, name, error="usage")


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "text, name, number, alias",
    [
        ("BUDDY (415) 555-0100 Sam", "BUDDY", "(415) 555-0100", "Sam"),
        ("BUDDY +1 415 555 0100 Sam", "BUDDY", "+1 415 555 0100", "Sam"),
        ("BUDDY 415.555.0100", "BUDDY", "415.555.0100", ""),
        ("buddy 415.555.0100.", "BUDDY", "415.555.0100", ""),
        ("BUDDY 4155550100 Sam Lee", "BUDDY", "4155550100", "Sam Lee"),
        ("BUDDY 415-555-0100 - Sam", "BUDDY", "415-555-0100", "Sam"),
        ("BUDDY +44 20 7946 0958, Jo", "BUDDY", "+44 20 7946 0958", "Jo"),
        ("UNBUDDY 4155550100", "UNBUDDY", "4155550100", ""),
        ("ADD +14155550100 Rosa", "ADD", "+14155550100", "Rosa"),
        ("REMOVE (415) 555-0100", "REMOVE", "(415) 555-0100", ""),
        ("ORGANIZER 415 555 0100", "ORGANIZER", "415 555 0100", ""),
        ("organiser 4155550100", "ORGANIZER", "4155550100", ""),
    ],
)
def test_number_commands_take_the_leading_number_and_the_rest_as_alias(text, name, number, alias):
    check(text, name, number=number, text=alias, error=None)


@pytest.mark.parametrize(
    "text, name",
    [("BUDDY", "BUDDY"), ("BUDDY Sam", "BUDDY"), ("BUDDY 12 Sam", "BUDDY"), ("UNBUDDY", "UNBUDDY"),
     ("ADD", "ADD"), ("ADD Rosa", "ADD"), ("REMOVE", "REMOVE"), ("ORGANIZER", "ORGANIZER")],
)
def test_number_commands_without_a_number_are_a_number_error(text, name):
    check(text, name, error="number", number=None)


@pytest.mark.parametrize(
    "text, target",
    [("CHECK 415-555-0100", "415-555-0100"), ("check ABC 123", "ABC 123"),
     ("CHECK 7XYZ-123.", "7XYZ-123"), ("CHECK +1 (415) 555-0100?", "+1 (415) 555-0100")],
)
def test_check_keeps_the_number_or_plate_as_typed(text, target):
    check(text, "CHECK", number=target, error=None)


# ---------------------------------------------------------------- plain commands


@pytest.mark.parametrize(
    "text, name",
    [
        ("STATUS", "STATUS"), ("status?", "STATUS"), ("estado", "STATUS"),
        ("BUDDIES", "BUDDIES"), ("buddy list", "BUDDIES"), ("TEST", "TEST"),
        ("RIGHTS", "RIGHTS"), ("derechos", "RIGHTS"), ("HELP", "HELP"), ("help!", "HELP"),
        ("MENU", "HELP"), ("menú", "HELP"), ("INFO", "HELP"), ("AYUDA", "HELP"),
        ("¡Ayuda!", "HELP"), ("MEMBERS", "MEMBERS"), ("REPORTS", "REPORTS"),
        ("ACK", "ACK"), ("on it", "ACK"), ("On it!", "ACK"), ("voy", "ACK"),
        ("JOIN", "JOIN"), ("unirme", "JOIN"), ("NO", "NO"), ("no.", "NO"),
        ("SI", "YES"), ("sí", "YES"), ("Sí!", "YES"), ("WIPE", "WIPE"),
    ],
)
def test_keywords_and_their_variants_name_their_command(text, name):
    check(text, name, error=None)


@pytest.mark.parametrize(
    "text, name, choice",
    [("YES 2", "YES", 2), ("yes #3", "YES", 3), ("SÍ 2", "YES", 2), ("NO 1", "NO", 1),
     ("JOIN 2", "JOIN", 2), ("ACK 2", "ACK", 2), ("YES 2nd", "YES", None), ("NO thanks", "NO", None),
     ("JOIN", "JOIN", None)],
)
def test_yes_no_join_take_an_optional_choice_number(text, name, choice):
    check(text, name, choice=choice)


@pytest.mark.parametrize(
    "text, code",
    [("LANG ES", "ES"), ("lang es.", "ES"), ("LANG en", "EN"), ("LANG español", "ES"),
     ("language English", "EN"), ("idioma ES", "ES"), ("LANG fr", "FR")],
)
def test_lang_gives_an_upper_case_code(text, code):
    check(text, "LANG", text=code, error=None)


@pytest.mark.parametrize("text, confirm", [("WIPE", ""), ("WIPE YES", "YES"), ("wipe yes!", "YES")])
def test_wipe_carries_its_confirmation_word(text, confirm):
    check(text, "WIPE", text=confirm)


# ---------------------------------------------------------------- organizer reports and card


@pytest.mark.parametrize(
    "text, report, extra",
    [
        ("APPROVE #ab12", "AB12", None),
        ("approve AB12", "AB12", None),
        ("APPROVE # ab12", "AB12", None),
        ("APPROVE #AB12.", "AB12", None),
        ("APPROVE ab12 send", "AB12", ""),
        ("APPROVE AB12 SEND Watch for a grey van.", "AB12", "Watch for a grey van."),
    ],
)
def test_approve_reads_the_id_and_an_optional_send_with_warning_text(text, report, extra):
    check(text, "APPROVE", text=report, extra=extra, error=None)


@pytest.mark.parametrize("text", ["REJECT #ab12", "reject AB12", "REJECT # ab12!"])
def test_reject_reads_the_id_without_hash_in_upper_case(text):
    check(text, "REJECT", text="AB12", extra=None, error=None)


@pytest.mark.parametrize(
    "text, lang, body",
    [
        ("CARD ES Tienes derecho a guardar silencio.", "ES", "Tienes derecho a guardar silencio."),
        ("card en You may stay silent.", "EN", "You may stay silent."),
        ("CARD If stopped, stay calm.", None, "If stopped, stay calm."),
        ("CARD No search without consent", None, "No search without consent"),
    ],
)
def test_card_takes_an_optional_language_then_the_text(text, lang, body):
    check(text, "CARD", extra=lang, text=body, error=None)


# ---------------------------------------------------------------- never raising

NASTY = [
    "", "   ", "\x00", "\x00START 45", "\x1b[31mOK", "a" * 2000, "🙂" * 700, "🙂 ok",
    "START 🙂", "“OK”", "‘STOP’", "ＯＫ", "\ud800", "\ud83d", "START " + "9" * 1500,
    "BUDDY " + "1" * 1600, "BUDDY " + "(" * 1600, "APPROVE " + "#" * 1600,
    "START " + "1h" * 800, "ok " + "thanks " * 300, "\u202eKO", "🏳️‍🌈 SOS",
    "START 1" + "0" * 5000, "CARD ES", "LANG 🙂", "WIPE 🙂", "YES 🙂", "START 10:",
    "START 10:3", "START :30", "START 1.", "START 1,", "START 1h.", "START h", "START pm",
    "\n".join(["START 45"] * 300), "S\u0301I", "ẞ", "İ", "ﬀ", "\uffff", "𝐎𝐊",
]


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_the_parser_itself_never_raises_on_nasty_input(text):
    """Calls the unguarded parser, since parse()'s safety net would hide a crash."""
    command = _parse(text)
    assert isinstance(command, Command)
    assert len(command.word) <= 20


def test_the_parser_never_raises_on_random_input():
    """Random mixes of keywords, digits, units, punctuation and odd code points."""
    rng = random.Random(20240601)
    pieces = ["START", "OK", "YES", "BUDDY", "APPROVE", "CARD", "ES", "SEND", "STOP", "h", "m",
              "min", "pm", "a.m.", ":", ".", ",", "#", "+", "(", ")", "-", " ", "\n", "1", "12",
              "30", "🙂", "\x00", "\u200b", "\ud800", "é", "́", "ß", "9999999"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert isinstance(_parse(text), Command), text
        assert parse_duration(text) is None or isinstance(parse_duration(text), int)


def test_parse_turns_any_crash_into_unknown(monkeypatch):
    """The safety net: a bug in a handler still gets the person a reply."""
    import smsline.commands as commands

    def broken(word, rest):
        raise RuntimeError("bug")

    monkeypatch.setitem(commands.PARSERS, "STATUS", broken)
    assert parse("STATUS").name == "UNKNOWN"


def test_command_is_immutable():
    with pytest.raises(AttributeError):
        parse("OK").name = "SOS"
