"""Scripted conversations: what people really type (distress words, "I'm fine", times in words),
invitations in the inviter's language, and the clock each language reads.
"""
from __future__ import annotations

import pytest

from smsline import config, messages
from smsline.gsm7 import is_gsm7, septets
from smsline.rendering import ALIAS_WORDS, generated_alias
from smsline.store import Keys
from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER

STRANGER = "+14155550177"


# ---------------------------------------------------------------- distress words and the SOS emoji


@pytest.mark.parametrize("body", ["auxilio", "¡SOCORRO!", "ayúdame", "Ayudenme por favor", "🆘", "sooos"])
def test_distress_words_alert_the_buddy_from_a_member_who_chose_english(network, body):
    w = network
    w.reply(MEMBER, "LANG EN")
    assert "Alert sent" in w.reply(MEMBER, body)
    alert = w.take(BUDDY)
    assert len(alert) == 1 and "asked for help now" in alert[0]


def test_distress_words_and_the_emoji_alarm_after_many_texts_not_understood(network):
    """However many texts came before: no reply limit stands between a member and SOS."""
    w = network
    for i in range(12):
        assert len(w.text(MEMBER, f"zzqx{i}")) == 1
    assert "Alert sent" in w.reply(MEMBER, "🆘")
    assert len(w.take(BUDDY)) == 1
    assert w.reply(MEMBER, "OK")
    w.take(BUDDY)
    assert "Alerta enviada" in w.reply(MEMBER, "SOCORRO me tiene encerrada")  # never chose: Spanish words
    alert = w.take(BUDDY)
    assert len(alert) == 1 and "me tiene encerrada" in alert[0]


def test_a_distress_word_from_a_member_who_chose_english_stays_english(network):
    w = network
    w.reply(MEMBER, "LANG EN")
    assert "Alert sent" in w.reply(MEMBER, "AUXILIO")


# ---------------------------------------------------------------- "I'm fine" while a timer runs


@pytest.mark.parametrize("body", ["im ok thanks", "I'm fine", "all good", "ya sali", "todo bien", "sano y salvo",
                                  "zzqx", "strat 30"])
def test_anything_not_a_command_while_a_timer_runs_says_it_runs_and_how_to_end_it(network, body):
    w = network
    w.reply(MEMBER, "START 30")
    reply = w.text(MEMBER, body)
    assert len(reply) == 1 and "still run" in reply[0] and "OK on its own" in reply[0], reply
    assert w.timer(MEMBER).live


def test_im_fine_in_spanish_is_answered_in_spanish_and_the_timer_runs_on(network):
    w = network
    w.reply(MEMBER, "LANG ES")
    w.reply(MEMBER, "START 30")
    for body in ("ya", "bien", "todo bien gracias", "im ok thanks", "que hago"):
        reply = w.reply(MEMBER, body)
        assert reply.startswith("Tu temporizador sigue corriendo, hasta") and "manda solo OK" in reply, body
    assert w.timer(MEMBER).live
    assert "ya se detuvo" in w.reply(MEMBER, "OK")


def test_im_fine_or_ok_with_more_without_a_timer_says_none_runs(network):
    assert "No timer is running" in network.reply(MEMBER, "im ok thanks")
    assert "No timer is running" in network.reply(MEMBER, "ok but the guy is weird")


def test_a_buddy_is_answered_far_beyond_what_a_person_sends_and_a_loop_still_ends(network):
    w = network
    replies = []
    for i in range(32):
        # The per-number flood window runs in real seconds: clear it, so this pins the hourly cap alone.
        w.redis.delete(Keys.flood.format(h=w.line.store.number_hash(BUDDY)))
        replies.append(w.text(BUDDY, f"zzqx{i}"))
    assert all(len(r) == 1 for r in replies[:30]) and replies[30:] == [[], []]


def test_with_a_safe_word_im_fine_raises_the_covert_alarm_and_looks_ordinary(network):
    w = network
    w.reply(MEMBER, "SAFEWORD bluebird")
    w.reply(MEMBER, "START 30")
    reply = w.reply(MEMBER, "todo bien")
    assert "still running" in reply and "OK on its own" in reply
    alert = w.take(BUDDY)
    assert len(alert) == 1
    # The phone still sees a running timer and the same answer.
    assert "Timer on until" in w.reply(MEMBER, "STATUS")
    assert "still running" in w.reply(MEMBER, "zzqx")


def test_after_a_duress_alarm_a_text_not_understood_does_not_show_a_timer(network):
    w = network
    w.reply(MEMBER, "DURESS girasol")
    w.reply(MEMBER, "START 30")
    w.reply(MEMBER, "girasol")
    assert w.reply(MEMBER, "im ok thanks") == "No timer is running. Text START 60 to begin one."
    assert "not understood" in w.reply(MEMBER, "zzqx")


def test_a_length_on_its_own_says_what_to_text_and_changes_nothing(network):
    w = network
    assert "START 30" in w.reply(MEMBER, "30 min")
    assert w.timer(MEMBER) is None
    w.reply(MEMBER, "START 20")
    ends = w.timer(MEMBER).ends_at
    reply = w.reply(MEMBER, "30 min")
    assert "EXTEND 30" in reply and "OK on its own" in reply
    assert w.timer(MEMBER).ends_at == ends
    w.reply(MEMBER, "LANG ES")
    assert "manda MAS 90" in w.reply(MEMBER, "hora y media")


# ---------------------------------------------------------------- times as people write them


def test_start_a_las_11_takes_the_next_11_and_the_confirmation_shows_it(make_world):
    w = make_world({"timezone": "UTC"})
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "UNIRME")
    # T0 is 08:00 UTC: "a las 11" is 11 in the morning, three hours on.
    reply = w.reply(MEMBER, "INICIO a las 11 hotel Sol")
    assert "hasta 11:00 am" in reply
    assert w.timer(MEMBER).ends_at - w.now == 3 * 3600
    assert "Nota: hotel Sol" in w.reply(MEMBER, "ESTADO")
    assert "hasta 11:00 pm" in w.reply(MEMBER, "INICIO 11 de la noche")
    assert w.timer(MEMBER).ends_at - w.now == 15 * 3600
    assert "ya se detuvo" in w.reply(MEMBER, "OK")
    assert not w.timer(MEMBER).live


def test_times_refused_say_what_was_not_understood_and_start_nothing(network):
    w = network
    assert "1:30 could be a length or a time of day" in w.reply(MEMBER, "START 1:30")
    assert w.reply(MEMBER, "START 10:30 hotel").startswith("10:30 could be a length")
    assert "START 1h30" in w.reply(MEMBER, "START 1:30") and "START 1:30pm" in w.reply(MEMBER, "START 1:30")
    assert 'The time "11 y media" was not understood' in w.reply(MEMBER, "START 11 y media")
    assert "from 1 minute to 24 hours" in w.reply(MEMBER, "START 9999")
    assert w.timer(MEMBER) is None
    w.reply(MEMBER, "LANG ES")
    assert 'No entendi la hora "11 de la"' in w.reply(MEMBER, "START 11 de la")
    assert "1:30 puede ser cuanto tiempo o a que hora" in w.reply(MEMBER, "inicio 1:30")
    assert w.timer(MEMBER) is None
    assert "Temporizador activo hasta" in w.reply(MEMBER, "INICIO media hora")
    assert w.timer(MEMBER).ends_at - w.now == 30 * 60
    w.reply(MEMBER, "extender media hora")
    assert w.timer(MEMBER).ends_at - w.now == 60 * 60


# ---------------------------------------------------------------- the clock each language reads


def test_spanish_reads_a_12_hour_clock_by_default_and_24_when_set(make_world):
    for clock, shown in ((12, "5:12 pm"), (24, "17:12")):
        w = make_world({"clock_es": clock})
        w.now -= w.now % 86400 - 17 * 3600  # 17:00 UTC on the day of T0
        w.text(ORGANIZER, "LANG ES")
        w.text(ORGANIZER, "ADD 415 555 0102 Rose")
        w.text(MEMBER, "UNIRME")
        assert f"hasta {shown}." in w.reply(MEMBER, "INICIO 12"), clock


def test_the_clock_settings_come_from_the_environment():
    assert config.from_env({}).clock("es") == 12 and config.from_env({}).clock("en") == 12
    s = config.from_env({"SMSLINE_CLOCK_ES": "24", "SMSLINE_CLOCK_EN": "24h"})
    assert s.clock("es") == 24 and s.clock("en") == 24
    assert config.from_env({"SMSLINE_CLOCK_ES": "13"}).clock("es") == 12


# ---------------------------------------------------------------- invitations in the inviter's language


def test_an_invitation_from_a_spanish_organizer_is_in_spanish_and_si_is_answered_in_spanish(world):
    w = world
    w.reply(ORGANIZER, "LANG ES")
    w.reply(ORGANIZER, f"ADD {MEMBER} Rose")
    invite = w.take(MEMBER)
    assert len(invite) == 1 and invite[0].startswith("Line: te invitan") and "UNIRME" in invite[0]
    assert w.reply(MEMBER, "Sí").startswith("Te damos la bienvenida a Line")


def test_an_invitation_from_an_inviter_with_no_language_chosen_is_in_both_and_fits(world):
    w = world
    w.reply(ORGANIZER, f"ADD {MEMBER} Rose")
    invite = w.take(MEMBER)[0]
    assert "Reply JOIN" in invite and "Responde UNIRME" in invite
    assert is_gsm7(invite) and septets(invite) <= messages.LONG_LIMIT
    assert w.reply(MEMBER, "JOIN").startswith("Welcome to Line")


@pytest.mark.parametrize("consent, welcome", [("SI", "Ya eres contacto"), ("acepto", "Ya eres contacto"),
                                              ("Sí", "Ya eres contacto"), ("UNIRME", "Ya eres contacto"),
                                              ("claro que si", "Ya eres contacto"), ("YES", "You are now a buddy")])
def test_a_buddy_answers_a_two_language_invitation_and_is_answered_in_the_language_used(world, consent, welcome):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "JOIN")
    w.reply(MEMBER, f"BUDDY {BUDDY} Sam")
    invite = w.take(BUDDY)[0]
    assert "Reply YES" in invite and "Responde SI" in invite and invite.count("Rose") == 2
    assert w.reply(BUDDY, consent).startswith(welcome)
    assert w.line.store.buddy_links(w.line.store.pid_for(MEMBER))[w.line.store.pid_for(BUDDY)]["status"] == "confirmed"


def test_espanol_from_an_invitee_switches_the_language(world):
    w = world
    w.text(ORGANIZER, f"ORGANIZER {BUDDY2}")
    w.take(BUDDY2)
    assert "español" in w.reply(BUDDY2, "español")
    assert "Ya eres parte del equipo organizador" in w.reply(BUDDY2, "SI")


def test_a_buddy_invitation_from_a_spanish_member_is_in_spanish(network):
    w = network
    w.reply(MEMBER, "LANG ES")
    w.reply(MEMBER, f"BUDDY {BUDDY2} Ana")
    assert "te pide ser su contacto" in w.take(BUDDY2)[0]


# ---------------------------------------------------------------- Spanish words for commands


def test_spanish_command_words_work_beside_the_english_ones(network):
    w = network
    w.reply(MEMBER, "LANG ES")
    assert "Contactos: Sam" in w.reply(MEMBER, "contactos")
    assert "te veran como Lupita" in w.reply(MEMBER, "nombre Lupita")
    assert "Invitacion enviada" in w.reply(MEMBER, f"CONTACTO {BUDDY2} Ana")
    assert "Prueba enviada" in w.reply(MEMBER, "prueba")
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    w.take(BUDDY)
    assert "Te estas encargando de Lupita" in w.reply(BUDDY, "ya voy")  # Spanish words: answered in Spanish
    assert any("vio tu alerta" in t for t in w.take(MEMBER))
    w.reply(MEMBER, "OK")
    assert "BORRAR SI" in w.reply(MEMBER, "borrar")
    assert w.line.store.is_member(w.line.store.pid_for(MEMBER))
    assert "borramos todo" in w.reply(MEMBER, "BORRAR SI")


# ---------------------------------------------------------------- neutral names


def test_the_default_network_name_and_generated_aliases_are_words_of_neither_language():
    assert config.Settings().network_name == "Lumi" and config.from_env({}).network_name == "Lumi"
    english = {"robin", "sky", "river", "sage", "wren", "jay", "rowan", "ash", "fern", "lark", "reed", "quinn"}
    assert not english & {a.lower() for a in ALIAS_WORDS}
    alias = generated_alias("abc123")
    assert alias[:-2] in ALIAS_WORDS and alias[-2:].isdigit()


def test_a_member_enrolled_without_an_alias_gets_a_neutral_one(world):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER}")
    welcome = w.reply(MEMBER, "JOIN")
    assert any(f"as {a}" in welcome for a in ALIAS_WORDS), welcome
