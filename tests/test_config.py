"""Configuration that would open a door or send nothing is refused at start, by the web and the worker alike."""
from __future__ import annotations

import os
import subprocess
import sys

import fakeredis
import pytest
from twilio.request_validator import RequestValidator

from smsline import bootstrap, config, create_app, run
from smsline.transport import RecordingTransport

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SID, TOKEN, FROM = "AC" + "1" * 32, "t" * 32, "+15005550006"
PUBLIC = "https://line.example.org"
# A whole Twilio configuration as the environment gives it.
FULL = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": FROM,
        "SMSLINE_PUBLIC_URL": PUBLIC, "SMSLINE_SECRET_KEY": "k" * 32}


def _without(*names: str) -> dict:
    return {k: v for k, v in FULL.items() if k not in names}


def _build(env: dict):
    """The wiring both entry points share (bootstrap.build), from this environment alone."""
    return bootstrap.build(config.from_env(env), redis=fakeredis.FakeRedis(), transport=RecordingTransport())


@pytest.mark.parametrize("env, says", [
    (_without("SMSLINE_PUBLIC_URL"), "SMSLINE_PUBLIC_URL is required"),
    ({**FULL, "SMSLINE_PUBLIC_URL": "line.example.org"}, "absolute http(s) base URL"),
    ({**FULL, "SMSLINE_PUBLIC_URL": "https://line.example.org/?x=1"}, "absolute http(s) base URL"),
    (_without("TWILIO_ACCOUNT_SID"), "TWILIO_AUTH_TOKEN is set but TWILIO_ACCOUNT_SID is not"),
    (_without("TWILIO_AUTH_TOKEN"), "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not"),
    ({"TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_AUTH_TOKEN is set but TWILIO_ACCOUNT_SID is not"),
    (_without("TWILIO_FROM_NUMBER"), "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required"),
], ids=["no-public-url", "public-url-not-absolute", "public-url-with-query", "token-without-sid",
        "sid-without-token", "only-a-token", "no-sender"])
def test_the_line_refuses_to_start_with_a_half_or_open_twilio_configuration(env, says):
    with pytest.raises(config.ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        _build(env)
    assert says in (run.config_problem(dict(env)) or "")


def test_a_whole_twilio_configuration_or_none_at_all_starts():
    """A full account (sender by number or by messaging service) starts signed; no account starts the simulator."""
    assert _build(FULL).settings.twilio_configured
    by_service = {**_without("TWILIO_FROM_NUMBER"), "TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32}
    assert _build(by_service).settings.twilio_configured
    assert run.config_problem(dict(FULL)) is None
    demo = _build({})
    assert not demo.settings.twilio_configured and demo.settings.simulator_enabled
    assert run.config_problem({}) is None


def test_a_token_without_an_account_no_longer_turns_the_unsigned_simulator_on():
    """The old gap: TWILIO_AUTH_TOKEN alone made create_app serve the simulator on a line the Procfile binds to 0.0.0.0."""
    with pytest.raises(config.ConfigError):
        create_app({"twilio_auth_token": TOKEN}, redis=fakeredis.FakeRedis(), transport=RecordingTransport())


def test_a_signature_made_for_another_host_is_refused(make_world):
    """The signed URL is SMSLINE_PUBLIC_URL, never the Host header: a request signed for another deployment of
    the same Twilio account, sent with that deployment's Host, gets 403."""
    w = make_world({"twilio_account_sid": SID, "twilio_auth_token": TOKEN, "twilio_from_number": FROM,
                    "public_url": PUBLIC})
    form = {"From": "+14155550001", "Body": "HELP", "MessageSid": "SM" + "3" * 32}
    other = "https://other-line.example.net"
    forged = RequestValidator(TOKEN).compute_signature(other + "/sms", form)
    r = w.client.post("/sms", data=form, headers={"X-Twilio-Signature": forged, "Host": "other-line.example.net"},
                      base_url=other)
    assert r.status_code == 403
    good = RequestValidator(TOKEN).compute_signature(PUBLIC + "/sms", form)
    assert w.client.post("/sms", data=form, headers={"X-Twilio-Signature": good}).status_code == 200


def _start(command: str, env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SMSLINE_", "TWILIO_", "REDIS_URL"))}
    base.update(env, REDIS_URL="redis://127.0.0.1:1/0")
    return subprocess.run([sys.executable, "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=base)


@pytest.mark.parametrize("command", [
    "import smsline; smsline.create_app()",
    "import worker; worker.main()",
], ids=["web", "worker"])
def test_web_and_worker_both_stop_with_a_clear_message_without_the_public_url(command):
    out = _start(command, _without("SMSLINE_PUBLIC_URL"))
    assert out.returncode != 0
    assert "SMSLINE_PUBLIC_URL is required with a Twilio account" in out.stderr
