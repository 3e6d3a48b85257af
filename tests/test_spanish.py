"""Scripted conversations in Spanish: LANG ES, each person in their own language, Spanish command words.

Assertions look for words only the Spanish catalog (smsline/catalog/es.py) uses,
and every text sent to a Spanish-speaking number is checked to be GSM-7.
"""
from __future__ import annotations

import re

import pytest

from smsline import messages
from smsline.gsm7 import is_gsm7, septets
from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER

ENGLISH = re.compile(r"\b(timer|text|reply|buddy|buddies|alerted|safe|thank you|sorry|reminder|waiting)\b",
                     re.IGNORECASE)


def spanish(text: str) -> str:
    """A text meant for a Spanish speaker: GSM-7, one SMS or three, and no English wording left in it.

    Command keywords (START, BUDDIES, ...) are written in capitals and stay English on purpose.
    """
    assert is_gsm7(text), [c for c in text if not is_gsm7(c)]
    assert septets(text) <= messages.LONG_LIMIT
    assert not ENGLISH.search(re.sub(r"\b[A-Z]{2,}\b", "", text)), text
    return text


def es_reply(world, number: str, body: str) -> str:
    """The replies (each checked on its own: HELP takes two texts), joined."""
    replies = world.text(number, body)
    assert replies, f"no reply to {body!r}"
    return " | ".join(spanish(r) for r in replies)


def es_take(world, number: str) -> list[str]:
    return [spanish(t) for t in world.take(number)]


@pytest.fixture
def es_member(network):
    """The network of conftest, with the member Rose texting in Spanish."""
    assert "español" in network.reply(MEMBER, "LANG ES")
    return network


@pytest.fixture
def es_buddy(network):
    """The network of conftest, with the buddy Sam reading in Spanish and Rose in English."""
    assert "español" in network.reply(BUDDY, "LANG ES")
    return network


# ---------------------------------------------------------------- the member's own replies


def test_lang_es_answers_in_spanish_and_lang_en_switches_back(network):
    w = network
    assert "Los mensajes a este numero llegaran en español." == w.reply(MEMBER, "LANG ES")
    assert "Temporizador activo hasta" in es_reply(w, MEMBER, "START 30")
    assert "Qué bueno" in es_reply(w, MEMBER, "OK")
    assert "English" in w.reply(MEMBER, "LANG EN")
    assert "Timer on until" in w.reply(MEMBER, "START 30")


@pytest.mark.parametrize("body", ["LANG es", "lang español", "IDIOMA ES", "idioma espanol", "LANGUAGE Spanish"])
def test_the_ways_of_asking_for_spanish(network, body):
    assert "español" in network.reply(MEMBER, body)
    assert "temporizador" in es_reply(network, MEMBER, "STATUS")


def test_an_unknown_language_gets_the_list_in_the_current_language(es_member):
    reply = es_reply(es_member, MEMBER, "LANG FR")
    assert "Idiomas" in reply and "LANG EN" in reply and "LANG ES" in reply


def test_start_status_ok_in_spanish(es_member):
    w = es_member
    assert "No hay temporizador activo" in es_reply(w, MEMBER, "STATUS")
    reply = es_reply(w, MEMBER, "START 45 Hotel Mirabel hab 12")
    assert "Temporizador activo hasta" in reply and "Manda OK cuando estés a salvo" in reply
    status = es_reply(w, MEMBER, "ESTADO")
    assert "Temporizador activo hasta" in status and "Nota: Hotel Mirabel hab 12." in status
    assert "ya se detuvo" in es_reply(w, MEMBER, "OK")
    assert "No hay temporizador activo" in es_reply(w, MEMBER, "OK")


def test_a_new_start_replaces_the_running_timer_in_spanish(es_member):
    w = es_member
    w.reply(MEMBER, "START 30")
    assert "Tu temporizador anterior ya no corre" in es_reply(w, MEMBER, "START 1h")


def test_extend_in_spanish_and_with_mas(es_member):
    w = es_member
    w.reply(MEMBER, "START 10")
    assert "Ahora tu temporizador corre hasta" in es_reply(w, MEMBER, "EXTEND 30")
    assert "Ahora tu temporizador corre hasta" in es_reply(w, MEMBER, "MAS 15")
    assert w.timer(MEMBER).ends_at - w.now == 55 * 60
    # Bare EXTEND answers with a duration hint today (the lead may change it to EXTEND's usage).
    assert any(s in es_reply(w, MEMBER, "EXTEND") for s in ("Para sumar tiempo", "El tiempo va de"))
    assert "24 horas como maximo" in es_reply(w, MEMBER, "EXTEND 24h")


def test_help_and_ayuda_in_spanish_never_name_the_secret_words(es_member):
    w = es_member
    for body in ("HELP", "AYUDA", "ayuda?", "MENU", "?"):
        reply = es_reply(w, MEMBER, body)
        assert reply.startswith("Line: ¿En peligro? Manda SOS (o AUXILIO)"), body
        assert "START 60" in reply and "LANG EN" in reply, body
        assert not re.search(r"SAFEWORD|DURESS|palabra", reply, re.IGNORECASE)
    w.reply(MEMBER, "START 30")
    reply = es_reply(w, MEMBER, "AYUDA")
    assert "Solo OK lo termina; STOP no" in reply and "SOS da la alarma ya" in reply


def test_errors_and_usage_in_spanish(es_member):
    w = es_member
    assert 'No entendi la hora "abc", asi que no empezo nada' in es_reply(w, MEMBER, "START abc")
    assert "El tiempo va de 1 minuto a 24 horas" in es_reply(w, MEMBER, "START 9999")
    assert "Para empezar: START 60" in es_reply(w, MEMBER, "START")
    assert "Disculpa, no entendi" in es_reply(w, MEMBER, "blablabla")
    assert "Tu mensaje vino vacio" in es_reply(w, MEMBER, "   ")
    assert "Para agregar un contacto" in es_reply(w, MEMBER, "BUDDY")
    assert "Para quitar un contacto" in es_reply(w, MEMBER, "UNBUDDY")
    assert "NOMBRE y el nombre (hasta 20 letras)" in es_reply(w, MEMBER, "NAME")
    assert "Solo el equipo organizador" in es_reply(w, MEMBER, "ADD 415 555 0199 Ana")
    assert "¿Quisiste decir START 60?" in es_reply(w, MEMBER, "strat 60")
    assert w.timer(MEMBER) is None


def test_ok_with_more_than_thanks_keeps_the_timer_running_in_spanish(es_member):
    w = es_member
    w.reply(MEMBER, "START 30")
    assert "manda solo OK" in es_reply(w, MEMBER, "ok pero el tipo esta raro")
    assert "manda solo OK" in es_reply(w, MEMBER, "listo pero no se")
    assert w.timer(MEMBER).live
    assert "ya se detuvo" in es_reply(w, MEMBER, "Listo, gracias!")
    assert not w.timer(MEMBER).live


@pytest.mark.parametrize("body", ["LISTO", "listo", "Listo.", "listo gracias", "ok gracias", "Estoy bien", "OK"])
def test_spanish_ways_of_saying_ok_end_the_timer(es_member, body):
    w = es_member
    w.reply(MEMBER, "START 30")
    assert "Tu temporizador ya se detuvo" in es_reply(w, MEMBER, body)
    assert not w.timer(MEMBER).live


def test_buddies_name_and_unbuddy_in_spanish(es_member):
    w = es_member
    assert "Contactos: Sam ...0103" in es_reply(w, MEMBER, "BUDDIES")
    assert "tus contactos te veran como Rosita" in es_reply(w, MEMBER, "NAME Rosita")
    assert "Invitacion enviada a ...0104" in es_reply(w, MEMBER, f"BUDDY {BUDDY2} Ana")
    assert "No puedes ser tu propio contacto" in es_reply(w, MEMBER, f"BUDDY {MEMBER}")
    assert "ya es tu contacto" in es_reply(w, MEMBER, f"BUDDY {BUDDY}")
    assert "ya no recibira tus alertas" in es_reply(w, MEMBER, f"UNBUDDY {BUDDY}")
    assert "You will no longer get alerts for Rosita." in w.take(BUDDY)
    assert "no es uno de tus contactos" in es_reply(w, MEMBER, f"UNBUDDY {BUDDY}")


# ---------------------------------------------------------------- reminders, time's up, alerts


def test_reminder_timeup_and_alert_for_a_spanish_member_while_the_buddy_reads_english(es_member):
    w = es_member
    w.reply(MEMBER, "START 30 Hotel Mirabel")
    w.advance(20.1)
    reminder = es_take(w, MEMBER)
    assert len(reminder) == 1 and reminder[0].startswith("Recordatorio: tu temporizador termina")
    assert "Si necesitas mas tiempo, manda MAS 30." in reminder[0]
    w.advance(10)
    timeup = es_take(w, MEMBER)
    assert timeup == ["Ya es la hora. Manda OK ahora, o en 5 min avisamos a tus contactos."]
    assert "las alertas salen" in es_reply(w, MEMBER, "STATUS")
    w.advance(5.1)
    assert es_take(w, MEMBER) == ["Ya avisamos a tus contactos. Manda OK cuando estés a salvo."]
    alert = w.take(BUDDY)
    assert len(alert) == 1 and "has not checked in" in alert[0] and "Hotel Mirabel" in alert[0]
    assert "Las alertas salieron" in es_reply(w, MEMBER, "ESTADO")
    assert "la hora ya no se puede cambiar" in es_reply(w, MEMBER, "EXTEND 10")
    w.reply(BUDDY, "ACK")
    assert es_take(w, MEMBER) == ["Sam vio tu alerta y ya se esta encargando."]
    assert "Sam dijo que se encarga." in es_reply(w, MEMBER, "STATUS")
    assert "Estamos avisando a quienes recibieron la alerta que todo salio bien" in es_reply(w, MEMBER, "LISTO")
    standdown = w.take(BUDDY)
    assert len(standdown) == 1 and "says they are safe" in standdown[0]


def test_a_spanish_buddy_gets_the_alert_and_stand_down_in_spanish_and_the_member_english(es_buddy):
    w = es_buddy
    assert "Timer on until" in w.reply(MEMBER, "START 30 Hotel Mirabel hab 212")
    w.advance(20.1)
    assert "Reminder" in w.take(MEMBER)[0]
    w.advance(10)
    assert "time is up" in w.take(MEMBER)[0]
    assert es_take(w, BUDDY) == []
    w.advance(5.1)
    assert "alerted" in w.take(MEMBER)[0]
    alert = es_take(w, BUDDY)
    assert len(alert) == 1
    assert alert[0].startswith("Line: Rose no se ha reportado. Temporizador desde")
    assert "Nota: Hotel Mirabel hab 212." in alert[0]
    assert "Responde ACK (o VOY)" in alert[0]
    assert "Gracias. Te estas encargando de Rose." == es_reply(w, BUDDY, "ACK")
    assert "Sam got your alert and is on it." in w.take(MEMBER)
    assert "stand down" in w.reply(MEMBER, "OK")
    standdown = es_take(w, BUDDY)
    assert len(standdown) == 1
    assert standdown[0].startswith("Line: Rose avisa que esta a salvo. Ya no hace falta seguir con la alerta de")
    assert "No tienes ninguna alerta abierta" in es_reply(w, BUDDY, "ACK")


def test_voy_answers_an_alert_like_ack(es_buddy):
    w = es_buddy
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert len(es_take(w, BUDDY)) == 1
    assert "Te estas encargando de Rose" in es_reply(w, BUDDY, "voy")
    assert any("Sam got your alert" in t for t in w.take(MEMBER))
    w.advance(30)
    assert es_take(w, BUDDY) == []


def test_repeats_to_a_spanish_buddy_and_organizer_end_with_the_last_alert(es_buddy):
    w = es_buddy
    assert "español" in w.reply(ORGANIZER, "LANG ES")
    w.reply(MEMBER, "START 5 carro azul ABC123")
    w.advance(10.1)
    assert "no se ha reportado" in es_take(w, BUDDY)[0]
    assert es_take(w, ORGANIZER) == []
    w.advance(10)
    repeat = es_take(w, BUDDY)
    assert len(repeat) == 1 and "Rose sigue sin reportarse (alerta 2; la primera fue a las" in repeat[0]
    assert "carro azul ABC123" in repeat[0]
    assert "sigue sin reportarse" in es_take(w, ORGANIZER)[0]
    w.advance(40)
    assert len(es_take(w, BUDDY)) == 4
    org = es_take(w, ORGANIZER)
    assert len(org) == 4 and "ULTIMA ALERTA" in org[-1] and "Ya no se mandaran mas avisos" in org[-1]


def test_ack_by_one_tells_a_spanish_organizer_and_the_follow_up_is_spanish(es_buddy):
    w = es_buddy
    w.reply(ORGANIZER, "LANG ES")
    w.reply(MEMBER, "START 5")
    w.advance(20.1)
    w.take(BUDDY), w.take(ORGANIZER)
    w.reply(BUDDY, "ACK")
    assert "Sam ya se esta encargando de la alerta de Rose." in es_take(w, ORGANIZER)
    w.advance(20.1)
    assert any("aunque Sam ya dijo que se encarga" in t for t in es_take(w, ORGANIZER))


def test_sos_in_spanish_both_ways(es_member):
    w = es_member
    w.reply(BUDDY, "LANG ES")
    w.take(BUDDY)
    assert "Alerta enviada" in es_reply(w, MEMBER, "SOS carro azul ABC123")
    alert = es_take(w, BUDDY)
    assert len(alert) == 1 and "Rose pide ayuda ahora" in alert[0] and "ABC123" in alert[0]


def test_a_member_without_buddies_is_warned_in_spanish(world):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "UNIRME")
    w.take(MEMBER)
    assert "español" in w.reply(MEMBER, "LANG ES")
    reply = es_reply(w, MEMBER, "START 5")
    assert "tus alertas van al equipo organizador" in reply
    assert "Aun no tienes contactos" in es_reply(w, MEMBER, "BUDDIES")
    assert "No tienes contacto confirmado para la prueba" in es_reply(w, MEMBER, "TEST")
    w.advance(10.1)
    assert "avisamos al equipo organizador" in es_take(w, MEMBER)[-1]


# ---------------------------------------------------------------- invitations and Spanish words


def test_a_new_buddy_switches_to_spanish_and_accepts_with_si(es_member):
    w = es_member
    es_reply(w, MEMBER, f"BUDDY {BUDDY2} Ana")
    assert "YES" in w.take(BUDDY2)[0]  # a new number reads English until it asks otherwise
    assert "español" in w.reply(BUDDY2, "LANG ES")
    assert "Ya eres contacto de confianza de Rose" in es_reply(w, BUDDY2, "SI")
    assert "Ana ya es tu contacto: recibira tus alertas." in es_take(w, MEMBER)
    assert "eres contacto de confianza" in es_reply(w, BUDDY2, "AYUDA")


def test_no_declines_in_spanish_and_the_member_is_told(es_member):
    w = es_member
    w.reply(MEMBER, f"BUDDY {BUDDY2} Ana")
    w.take(BUDDY2)
    w.reply(BUDDY2, "LANG ES")
    assert "No recibiras mas invitaciones de esa persona" in es_reply(w, BUDDY2, "NO")
    declined = es_take(w, MEMBER)
    assert len(declined) == 1 and declined[0].endswith(" prefirio no ser tu contacto.")
    assert "No se puede invitar a ese numero" in es_reply(w, MEMBER, f"BUDDY {BUDDY2} Ana")


def test_two_invitations_are_listed_in_spanish_and_si_picks_one(es_member):
    w = es_member
    w.reply(MEMBER, f"BUDDY {BUDDY2} Ana")
    w.reply(ORGANIZER, f"ORGANIZER {BUDDY2}")
    w.take(BUDDY2)
    w.reply(BUDDY2, "IDIOMA ESPAÑOL")
    which = es_reply(w, BUDDY2, "si")
    assert "Tienes 2 invitaciones" in which and "Responde YES (o SI) y el numero" in which
    assert "1 para organizar" in which and "2 Rose" in which
    assert "Ya eres parte del equipo organizador de Line" in es_reply(w, BUDDY2, "SI 1")
    assert "Equipo organizador: ADD numero alias" in es_reply(w, BUDDY2, "AYUDA")


def test_a_spanish_organizer_enrolls_a_member_in_spanish(world):
    w = world
    assert "español" in w.reply(ORGANIZER, "LANG ES")
    assert "Para invitar a alguien: ADD numero alias" in es_reply(w, ORGANIZER, "ADD")
    assert "Invitacion enviada a ...0102. Tiene que aceptar con JOIN o UNIRME." == es_reply(w, ORGANIZER, f"ADD {MEMBER} Rose")
    w.take(MEMBER)
    assert "Rose" in w.reply(MEMBER, "UNIRME")
    assert "...0102 ya es miembro." == es_reply(w, ORGANIZER, f"ADD {MEMBER}")
    assert "Miembros: 2." in es_reply(w, ORGANIZER, "MEMBERS")
    assert "Invitacion enviada a ...0104. Tiene que aceptar con YES o SI." == es_reply(w, ORGANIZER, f"ORGANIZER {BUDDY2}")
    assert "...0102 ya no es miembro." == es_reply(w, ORGANIZER, f"REMOVE {MEMBER}")
    assert "Ya no formas parte de Line" in w.take(MEMBER)[-1]  # Rose said UNIRME: she reads Spanish now
    assert "...0102 no es miembro." == es_reply(w, ORGANIZER, f"REMOVE {MEMBER}")


def test_join_unirme_and_the_welcome_in_spanish_after_lang(world):
    w = world
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    assert "JOIN" in w.take(MEMBER)[0]
    assert "español" in w.reply(MEMBER, "LANG ES")
    welcome = es_reply(w, MEMBER, "unirme")
    assert welcome.startswith("Te damos la bienvenida a Line. Tus contactos te veran como Rose.")


def test_test_in_spanish(es_member):
    w = es_member
    w.reply(BUDDY, "LANG ES")
    assert "Prueba enviada a Sam. Pregunta si la recibieron." == es_reply(w, MEMBER, "TEST")
    assert "SOLO ES UNA PRUEBA de Rose" in es_take(w, BUDDY)[0]


def test_wipe_in_spanish_tells_the_spanish_member_the_link_ended(es_member):
    w = es_member
    w.reply(BUDDY, "LANG ES")
    assert "Para confirmar, responde BORRAR SI" in es_reply(w, BUDDY, "WIPE")
    assert "borramos todo lo guardado sobre este numero" in es_reply(w, BUDDY, "WIPE SI")
    assert "Sam ya no es tu contacto." in es_take(w, MEMBER)
    assert "Para confirmar, responde BORRAR SI" in es_reply(w, MEMBER, "BORRAR")
    assert "borramos todo lo guardado" in es_reply(w, MEMBER, "BORRAR SI")
    assert "Texts to this number will be in English." == w.reply(ORGANIZER, "LANG EN")


def test_the_duress_word_looks_like_ok_in_spanish_and_alerts_a_spanish_buddy(es_member):
    w = es_member
    w.reply(BUDDY, "LANG ES")
    assert "Borra este mensaje" in es_reply(w, MEMBER, "DURESS girasol")
    w.reply(MEMBER, "START 30")
    plain_ok = "¡Qué bueno! Tu temporizador ya se detuvo."
    assert es_reply(w, MEMBER, "girasol") == plain_ok
    alert = es_take(w, BUDDY)
    assert len(alert) == 1 and "alarma silenciosa de Rose" in alert[0] and "girasol" not in alert[0]
    assert "No hay temporizador activo" in es_reply(w, MEMBER, "STATUS")


def test_a_safe_word_refusal_is_in_spanish(es_member):
    w = es_member
    assert "Esa palabra es un comando de esta linea" in es_reply(w, MEMBER, "SAFEWORD listo")
    assert "Esa no sirve" in es_reply(w, MEMBER, "SAFEWORD ab")
    assert "Pregunta al equipo organizador" in es_reply(w, MEMBER, "SAFEWORD")


def test_every_spanish_text_is_in_the_catalog_in_full(es_member):
    """Sanity: the Spanish table is the one serving these texts, and it has every English key."""
    assert set(messages.CATALOG["es"]) == set(messages.EN)
    assert "es" in messages.LANGS


# ---------------------------------------------------------------- delivery problems and the network's texts


def test_an_alert_that_cannot_reach_a_buddy_is_reported_in_spanish(es_member):
    w = es_member
    w.reply(MEMBER, f"BUDDY {BUDDY2} Ana")
    w.reply(BUDDY2, "YES")
    w.take(MEMBER), w.take(BUDDY2)
    w.text(BUDDY, "STOP")  # Sam opts out: the alert cannot reach him
    w.reply(MEMBER, "START 5 Hotel")
    w.advance(10.1)
    told = es_take(w, MEMBER)
    assert "Tu alerta no pudo llegar a Sam. Tambien estamos avisando al equipo organizador." in " ".join(told)
    assert len(w.take(BUDDY2)) == 1 and len(w.take(ORGANIZER)) == 1
    status = es_reply(w, MEMBER, "STATUS")
    assert "Recibieron: Ana" in status and "No recibieron: Sam." in status


def test_no_buddy_reachable_in_spanish(es_member):
    w = es_member
    w.text(BUDDY, "STOP")
    w.reply(MEMBER, "START 5")
    w.advance(10.1)
    assert any("No se le puede escribir a ninguno de tus contactos" in t for t in es_take(w, MEMBER))


@pytest.fixture
def es_net(make_world):
    """Organizer and member Rose, both reading Spanish, with fast bulk sending."""
    w = make_world({"send_rate": 1000.0})
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "JOIN")
    for n in (MEMBER, ORGANIZER):
        assert "español" in w.reply(n, "LANG ES")
        w.take(n)
    return w


def test_report_approve_and_check_in_spanish(es_net):
    w = es_net
    assert "Para avisar al equipo organizador sobre alguien: REPORT" in es_reply(w, MEMBER, "REPORT")
    thanks = es_reply(w, MEMBER, "REPORT el del carro azul placa 7ABC123 no pago y me amenazo")
    rid = re.search(r"Tu reporte es #(\w+)\.", thanks).group(1)
    forward = es_take(w, ORGANIZER)
    assert len(forward) == 1 and f"reporte #{rid} de Rose" in forward[0] and "Numeros o placas: 7ABC123" in forward[0]
    assert f"Por revisar: #{rid}" in es_reply(w, ORGANIZER, "REPORTS")
    assert "Ningun aviso aprobado coincide" in es_reply(w, MEMBER, "CHECK 7ABC123")
    assert f"Reporte #{rid} aprobado: ya cuenta para CHECK." == es_reply(w, ORGANIZER, f"APPROVE {rid}")
    found = es_reply(w, MEMBER, "CHECK 7abc 123")
    assert "Avisos aprobados que coinciden: 1." in found and "no pago, amenazas" in found
    assert "No hay reportes por revisar." == es_reply(w, ORGANIZER, "REPORTS")


def test_broadcast_and_rights_in_spanish(es_net):
    w = es_net
    assert "Enviando ya. Miembros: 1." in es_reply(w, ORGANIZER, "BROADCAST Cuidado esta noche en la calle 5")
    w.advance(5)
    assert w.take(MEMBER) == ["Line: Cuidado esta noche en la calle 5"]
    assert any("Tu mensaje ya salio" in t for t in es_take(w, ORGANIZER))
    card = w.reply(MEMBER, "DERECHOS")
    assert card.startswith("Conoce tus derechos") and is_gsm7(card)
    assert "Responde CARD YES (o CARD SI)" in es_reply(w, ORGANIZER, "CARD ES Tus derechos: no abras la puerta.")
    assert "cambiamos la tarjeta de derechos en ES" in es_reply(w, ORGANIZER, "CARD SI")
    assert w.reply(MEMBER, "RIGHTS") == "Tus derechos: no abras la puerta."
