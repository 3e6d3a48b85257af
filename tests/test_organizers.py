"""What organizers and members see at the edges, driven through /sms as phones would (issue 11).

Buddies the line can no longer reach, ALERTS and MEMBERS, a first duress word after a
safe word, and a time of day on the demo's fast clock.
"""
from __future__ import annotations

import pytest

from tests.conftest import BUDDY, BUDDY2, MEMBER, ORGANIZER, World

MEMBER2 = "+14155550105"
SAFE, DURESS = "bluebird", "sunflower"


def status_callback(w: World, to: str, status: str, error: str = "") -> None:
    """Twilio's status callback for the last text sent to `to`."""
    sid = [s.sid for s in w.transport.sent if s.to == to][-1]
    resp = w.client.post("/sms/status", data={"MessageSid": sid, "MessageStatus": status, "ErrorCode": error,
                                              "To": to})
    assert resp.status_code == 204
    w.run_jobs()


# A buddy the line can no longer reach ------------------------------------------------

def test_a_buddy_who_texts_stop_is_reported_once_to_their_member_masked_and_by_name(network):
    w = network
    assert w.text(BUDDY, "STOP") == []
    told = w.take(MEMBER)
    assert len(told) == 1
    assert "Sam ...0103" in told[0] and "4155550103" not in told[0] and "cannot get texts" in told[0]
    w.text(BUDDY, "STOP")
    w.text(BUDDY, "QUIT")
    assert w.take(MEMBER) == [], "told once, not once per opt-out word"


def test_every_member_with_that_buddy_is_told_in_their_own_language(network):
    w = network
    w.text(ORGANIZER, f"ADD {MEMBER2}")
    w.text(MEMBER2, "JOIN")
    w.text(MEMBER2, "LANG ES")
    w.text(MEMBER2, f"BUDDY {BUDDY}")
    w.text(BUDDY, "YES")
    w.take(MEMBER2)
    w.take(MEMBER)
    w.text(BUDDY, "UNSUBSCRIBE")
    es = w.take(MEMBER2)
    assert len(es) == 1 and es[0].startswith("...0103 ya no recibe mensajes")
    assert "Sam ...0103 cannot get texts" in w.take(MEMBER)[0]


def test_status_and_buddies_list_a_buddy_who_cannot_be_reached_until_they_opt_back_in(network):
    w = network
    w.text(BUDDY, "STOP")
    w.take(MEMBER)
    assert "Cannot be reached: Sam ...0103." in w.reply(MEMBER, "STATUS")
    assert "(cannot be reached)" in w.reply(MEMBER, "BUDDIES")
    assert "you are a buddy" in w.reply(BUDDY, "UNSTOP")
    assert "Sam ...0103 can get texts from Line again" in w.take(MEMBER)[0]
    assert "Cannot be reached" not in w.reply(MEMBER, "STATUS")
    # A later loss is told again.
    w.text(BUDDY, "STOP")
    assert len(w.take(MEMBER)) == 1


def test_a_failed_invitation_or_notice_to_a_buddy_marks_them_unreachable_and_a_delivery_clears_it(network):
    """Outside an alarm: a status callback for any text (here the member's TEST) says who cannot be reached."""
    w = network
    w.text(MEMBER, f"BUDDY {BUDDY2} Kim")
    w.text(BUDDY2, "YES")
    w.take(MEMBER)
    w.text(ORGANIZER, "BROADCAST Meeting on Friday")
    w.take(MEMBER)  # the broadcast
    status_callback(w, BUDDY2, "undelivered", "30003")
    told = w.take(MEMBER)
    assert len(told) == 1 and "Kim ...0104 cannot get texts" in told[0]
    status_callback(w, BUDDY2, "failed", "30005")
    assert w.take(MEMBER) == []
    assert "Cannot be reached: Kim ...0104." in w.reply(MEMBER, "STATUS")
    status_callback(w, BUDDY2, "delivered")
    assert "Kim ...0104 can get texts" in w.take(MEMBER)[0]
    assert "Cannot be reached" not in w.reply(MEMBER, "STATUS")


def test_a_failed_test_text_is_told_once_not_twice(network):
    w = network
    w.text(MEMBER, "TEST")
    w.take(MEMBER)
    status_callback(w, BUDDY, "undelivered", "30003")
    told = w.take(MEMBER)
    assert len(told) == 1 and "test text could not reach" in told[0]
    assert "Cannot be reached: Sam ...0103." in w.reply(MEMBER, "STATUS")


def test_a_late_delivery_receipt_does_not_undo_an_opt_out(network):
    w = network
    w.text(MEMBER, "TEST")
    w.text(BUDDY, "STOP")
    w.take(MEMBER)
    status_callback(w, BUDDY, "delivered")
    assert w.take(MEMBER) == []
    assert "Cannot be reached: Sam" in w.reply(MEMBER, "STATUS")


def test_nothing_about_a_lost_buddy_reaches_a_phone_whose_covert_alarm_is_running(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, "START 60")
    assert w.reply(MEMBER, "OK") == "Good to hear. Your timer is ended."  # no safe word: covert alarm
    status_callback(w, BUDDY, "undelivered", "30003")
    w.text(BUDDY, "STOP")
    assert w.take(MEMBER) == []
    assert w.reply(MEMBER, "STATUS") == "No timer is running. Text START 60 to begin one."
    assert w.reply(MEMBER, "BUDDIES") == "Buddies: Sam ...0103"


# MEMBERS and ALERTS -----------------------------------------------------------------

def test_members_flags_no_buddy_and_unreachable_buddy_and_hides_made_up_aliases(network):
    w = network
    w.text(ORGANIZER, f"ADD {MEMBER2}")
    w.text(MEMBER2, "JOIN")
    reply = w.reply(ORGANIZER, "MEMBERS")
    assert reply.startswith("Members: 3.")
    assert "No confirmed buddy: ...0001 (org), ...0105." in reply
    assert "*" not in reply
    generated = w.line.store.person(w.line.store.pid_for(MEMBER2))["alias"]
    assert generated not in reply, "a made-up alias means nothing to an organizer"
    w.text(BUDDY, "STOP")
    assert "A buddy cannot be reached: Rose ...0102." in w.reply(ORGANIZER, "MEMBERS")
    assert len(reply) <= 459


def test_members_says_when_everyone_has_a_reachable_buddy(world):
    w = world
    w.text(ORGANIZER, f"BUDDY {BUDDY}")
    w.text(BUDDY, "YES")
    assert "Each has a buddy who can be reached." in w.reply(ORGANIZER, "MEMBERS")


def test_members_and_alerts_are_for_organizers_only(network):
    assert "Only organizers" in network.reply(MEMBER, "ALERTS")
    assert "Only organizers" in network.reply(MEMBER, "MEMBERS")


def test_alerts_lists_open_alarms_with_masked_number_age_and_who_acked(network):
    w = network
    assert w.reply(ORGANIZER, "ALERTS") == "No alerts are open right now."
    w.text(MEMBER, "START 10 Motel 6")
    w.advance(15)  # time up at 10, alerts at 15
    reply = w.reply(ORGANIZER, "ALERTS")
    assert reply.startswith("Open alerts: 1. Rose ...0102: alerted ")
    assert "0 min ago. No ACK yet." in reply and "4155550102" not in reply and "Motel" not in reply
    w.advance(4)
    w.text(BUDDY, "ACK")
    reply = w.reply(ORGANIZER, "ALERTS")
    assert "4 min ago. ACK by Sam." in reply
    w.text(MEMBER, "OK")
    assert w.reply(ORGANIZER, "ALERTS") == "No alerts are open right now."


def test_alerts_fits_three_texts_with_many_open_alarms(world):
    w = world
    for i in range(12):
        n = f"+1415555{2000 + i}"
        w.text(ORGANIZER, f"ADD {n} Member{i:02d}withalongname")
        w.text(n, "JOIN")
        w.text(n, "SOS")
    reply = w.reply(ORGANIZER, "ALERTS")
    assert reply.startswith("Open alerts: 12.") and len(reply) <= 459


def test_an_organizer_never_sees_their_own_covert_alarm_in_alerts(world):
    w = world
    w.text(ORGANIZER, f"DURESS {DURESS}")
    w.text(ORGANIZER, DURESS)
    assert w.reply(ORGANIZER, "ALERTS") == "No alerts are open right now."


# Covert words and the fast clock ------------------------------------------------------

def test_a_first_duress_word_after_a_safe_word_is_set_without_asking_for_the_current_word(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    assert w.reply(MEMBER, f"DURESS {DURESS}") == "Done. Delete this text and yours from the phone."
    w.reply(MEMBER, "START 60")
    assert w.reply(MEMBER, DURESS) == "Good to hear. Your timer is ended."
    assert "silent alarm" in w.take(BUDDY)[0]


def test_changing_an_existing_duress_word_still_needs_the_safe_word(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, f"DURESS {DURESS}")
    assert "current word" in w.reply(MEMBER, "DURESS tangerine")
    assert "Done" in w.reply(MEMBER, f"DURESS tangerine {SAFE}")


def test_a_first_duress_word_while_a_timer_runs_raises_no_alarm(network):
    w = network
    w.reply(MEMBER, f"SAFEWORD {SAFE}")
    w.reply(MEMBER, "START 60")
    assert "Done" in w.reply(MEMBER, f"DURESS {DURESS}")
    assert w.take(BUDDY) == []
    assert w.timer(MEMBER).status == "running" and not w.timer(MEMBER).covert


@pytest.mark.parametrize("text", ["START 10:30pm", "START 22:30 motel", "start 9am"])
def test_a_time_of_day_on_the_fast_clock_is_refused_with_a_clear_reply_and_starts_nothing(make_world, text):
    w = make_world({"seconds_per_minute": 2.0})
    w.text(ORGANIZER, f"ADD {MEMBER} Rose")
    w.text(MEMBER, "JOIN")
    reply = w.reply(MEMBER, text)
    assert "fast demo clock" in reply and "START 30" in reply and len(reply) <= 160
    assert w.timer(MEMBER) is None
    assert "Timer on until" in w.reply(MEMBER, "START 30")


def test_a_time_of_day_on_the_real_clock_still_means_until_then(network):
    reply = network.reply(MEMBER, "START 10:30pm")
    assert reply == "Timer on until 10:30pm. Text OK when you are safe."


# The command line -----------------------------------------------------------------------

def cli(w: World, *args: str):
    result = w.app.test_cli_runner().invoke(args=list(args))
    return result


def test_cli_lists_members_with_flags_and_masked_numbers(network):
    w = network
    w.text(ORGANIZER, f"ADD {MEMBER2}")
    w.text(MEMBER2, "JOIN")
    out = cli(w, "members")
    assert out.exit_code == 0, out.output
    assert out.output.startswith("3 members")
    assert "...0105" in out.output and "NO CONFIRMED BUDDY" in out.output
    assert "Rose" in out.output and "4155550102" not in out.output
    rose = next(line for line in out.output.splitlines() if "Rose" in line)
    assert "buddies: 1" in rose and "NO CONFIRMED" not in rose
    w.text(BUDDY, "STOP")
    rose = next(line for line in cli(w, "members").output.splitlines() if "Rose" in line)
    assert "1 BUDDY CANNOT BE REACHED" in rose


def test_cli_lists_running_timers_and_open_alerts(network):
    w = network
    assert cli(w, "timers").output.startswith("0 running timers")
    w.text(MEMBER, "START 10 Motel 6")
    out = cli(w, "timers").output
    assert out.startswith("1 running timers") and "...0102" in out and "running" in out and "Motel" not in out
    assert cli(w, "alerts").output.startswith("0 open alerts")
    w.advance(17)
    w.text(BUDDY, "ACK")
    out = cli(w, "alerts").output
    assert out.startswith("1 open alerts") and "...0102" in out and "(open 2 min)" in out and "ack Sam" in out
    assert "4155550102" not in out


def test_cli_adds_and_removes_an_organizer_but_never_the_last(network):
    w = network
    out = cli(w, "organizer", "add", "415 555 0104")
    assert out.exit_code == 0 and "...0104 added" in out.output
    assert "Members: 3" in w.reply(BUDDY2, "MEMBERS")
    assert "...0104" in cli(w, "organizer", "list").output
    out = cli(w, "organizer", "remove", BUDDY2)
    assert out.exit_code == 0 and "removed" in out.output
    assert "Only organizers" in w.reply(BUDDY2, "MEMBERS")
    out = cli(w, "organizer", "remove", ORGANIZER)
    assert out.exit_code != 0 and "last organizer" in out.output
    assert w.line.store.organizers() == (w.line.store.pid_for(ORGANIZER),)
    out = cli(w, "organizer", "remove", "not a number")
    assert out.exit_code != 0 and "write it like" in out.output


def test_the_app_finds_make_runs_embedded_redis_under_var_when_redis_url_is_unset(tmp_path, monkeypatch):
    """`flask --app smsline ...` beside `make run`: the URL file under var/ leads to the running server."""
    from smsline import create_app, embedded_redis

    assert embedded_redis.discover(str(tmp_path)) is None
    server = embedded_redis.start(str(tmp_path))
    try:
        assert embedded_redis.discover(str(tmp_path)) == server.url
        monkeypatch.setattr(embedded_redis, "VAR_DIR", str(tmp_path))
        monkeypatch.delenv("REDIS_URL", raising=False)
        app = create_app({"organizers": ()})
        assert app.extensions["smsline"].settings.redis_url is None
        result = app.test_cli_runner().invoke(args=["organizer", "add", "+14155550109"])
        assert result.exit_code == 0, result.output
        assert server.client().scard("sl:organizers") == 1
    finally:
        server.stop()
    assert embedded_redis.discover(str(tmp_path)) is None, "a stopped server is not found"


def test_without_redis_url_or_a_running_line_the_cli_says_what_to_do(tmp_path):
    """No traceback: one line naming `make run` and REDIS_URL."""
    import subprocess
    import sys

    code = ("import sys; from smsline import embedded_redis; embedded_redis.VAR_DIR = sys.argv[1]; "
            "from flask.cli import main; sys.argv = ['flask', '--app', 'smsline', 'members']; main()")
    env = {k: v for k, v in __import__("os").environ.items() if k != "REDIS_URL"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode != 0
    assert "Error: REDIS_URL is not set and no embedded Redis is running" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_buddy_whose_number_twilio_refuses_for_good_is_reported_to_the_member(network):
    """A landline buddy: Twilio refuses the TEST at once (21614), no callback will come; the member is told."""
    from smsline.transport import SendError

    w = network
    w.transport.fail[BUDDY] = SendError(21614, 400, False)
    w.text(MEMBER, "TEST")
    told = [t for t in w.take(MEMBER) if "cannot get texts" in t]
    assert len(told) == 1 and "Sam ...0103" in told[0]
    assert "Cannot be reached: Sam ...0103." in w.reply(MEMBER, "STATUS")


def test_a_transient_refusal_marks_nobody(network):
    from smsline.transport import SendError

    w = network
    w.transport.fail[BUDDY] = SendError(20429, 429, True)
    w.text(MEMBER, "TEST")
    assert not [t for t in w.take(MEMBER) if "cannot get texts" in t]
    assert "Cannot be reached" not in w.reply(MEMBER, "STATUS")


def test_alerts_warns_organizers_not_to_text_a_member_whose_alarm_is_silent(network):
    w = network
    w.reply(MEMBER, f"DURESS {DURESS}")
    w.reply(MEMBER, DURESS)
    reply = w.reply(ORGANIZER, "ALERTS")
    assert reply.startswith("Open alerts: 1. Rose ...0102") and "Silent alarm: do not text them first." in reply


def test_a_spanish_organizer_reads_alerts_and_members_in_spanish(network):
    w = network
    w.text(ORGANIZER, "LANG ES")
    assert w.reply(ORGANIZER, "ALERTAS") == "No hay alertas abiertas ahora."
    w.text(MEMBER, "SOS")
    assert w.reply(ORGANIZER, "ALERTS").startswith("Alertas abiertas: 1. Rose ...0102: alerta a las ")
    assert "Sin contacto confirmado: ...0001 (org)." in w.reply(ORGANIZER, "MIEMBROS")


def test_status_naming_unreachable_buddies_stays_one_text(network):
    w = network
    for i in range(8):
        n = f"+1415555{3000 + i}"
        w.text(MEMBER, f"BUDDY {n} Friendwithlongname{i}")
        w.text(n, "YES")
        w.text(n, "STOP")
    w.text(MEMBER, "START 45 " + "Hotel Mirabel room 12, blue Honda " * 5)
    reply = w.reply(MEMBER, "STATUS")
    assert reply.startswith("Timer on until") and reply.endswith(" 8 of your buddies cannot be reached: see BUDDIES.")
    assert "Note: Hotel Mirabel" in reply and len(reply) <= 160


def test_a_stale_or_foreign_url_file_under_var_is_not_trusted(tmp_path):
    """A crash leaves redis.url behind: a dead pid, or a file naming another host, finds nothing."""
    from smsline import embedded_redis

    (tmp_path / "redis.url").write_text("redis://127.0.0.1:6399/0\n")
    (tmp_path / "redis.pid").write_text("999999\n")
    assert embedded_redis.discover(str(tmp_path)) is None
    server = embedded_redis.start(str(tmp_path))
    try:
        (tmp_path / "redis.url").write_text("redis://203.0.113.9:6379/0\n")
        assert embedded_redis.discover(str(tmp_path)) is None
    finally:
        server.stop()
