"""The simulator page and its endpoints, in-process: same webhook as real texts, gone with a Twilio account."""
from __future__ import annotations

import json
import os
import re

import pytest

from smsline import config, run
from smsline.simulator import DEMO_ORGANIZER, MAX_BODY
from smsline.store import Keys
from smsline.transport import LocalTransport
from tests.conftest import BUDDY, MEMBER, ORGANIZER

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TWILIO = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "test-token", "public_url": "https://l.example",
          "twilio_from_number": "+15005550006"}
SIMULATOR_URLS = [("get", "/simulator"), ("get", "/simulator/"), ("get", "/simulator/log?after=0"),
                  ("post", "/simulator/send"), ("post", "/simulator/phones"),
                  ("get", "/simulator/assets/simulator.js"), ("get", "/simulator/assets/simulator.css"),
                  ("get", "/static/simulator.js")]


def send(w, number: str, body: str):
    return w.client.post("/simulator/send", json={"from": number, "body": body})


def log(w, after: int = 0, last: str = "") -> dict:
    r = w.client.get(f"/simulator/log?after={after}&last={last}")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    return r.get_json()


@pytest.fixture
def sim(make_world):
    """A line with no Twilio account whose outbound texts go to the simulator log, as in `make run`."""
    w = make_world()
    w.line.transport = LocalTransport(w.redis)
    return w


# The page -------------------------------------------------------------------

def test_page_shows_organizer_member_and_buddy_and_the_clock_speed(make_world):
    w = make_world({"seconds_per_minute": 2.0})
    r = w.client.get("/simulator")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    cfg = json.loads(re.search(r'<script type="application/json" id="sim-config">(.*?)</script>', html, re.S).group(1))
    assert [(p["name"], p["number"]) for p in cfg["phones"]] == [
        ("Organizer", ORGANIZER), ("Member", "+14155550002"), ("Buddy", "+14155550003")]
    assert "1 minute of the line is 2 s" in html and "SMSLINE_SECONDS_PER_MINUTE=2" in html
    assert "buddies are alerted 10 s later" in html
    assert "No organizer is configured" not in html


def test_page_loads_nothing_from_other_hosts(make_world):
    """The machine may be offline: every script, style and link is this server's own."""
    html = make_world().client.get("/simulator").get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs and all(ref.startswith("/simulator/") for ref in refs), refs
    r = make_world().client.get("/simulator")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_page_never_names_what_the_line_is_for(make_world):
    """Someone may look over the shoulder: no sex work, clients or police in the page or the texts its script writes."""
    html = make_world().client.get("/simulator").get_data(as_text=True)
    script = open(os.path.join(ROOT, "smsline", "simulator_assets", "simulator.js"), encoding="utf-8").read()
    for pattern in (r"\bsex", r"\bclients?\b", r"\bpolice\b", r"\bcops?\b", r"\bescort", r"\bjohns?\b",
                    r"\btricks?\b", r"\bpunters?\b"):
        assert not re.search(pattern, html + script, re.I), pattern


def test_page_warns_when_no_organizer_is_configured(make_world):
    w = make_world({"organizers": ()})
    html = w.client.get("/simulator").get_data(as_text=True)
    assert "No organizer is configured" in html and f"SMSLINE_ORGANIZERS={DEMO_ORGANIZER}" in html


def test_member_and_buddy_phones_are_never_an_organizer_number(make_world):
    w = make_world({"organizers": ("+14155550002", "+14155550003")})
    html = w.client.get("/simulator").get_data(as_text=True)
    cfg = json.loads(re.search(r'id="sim-config">(.*?)</script>', html, re.S).group(1))
    assert [p["number"] for p in cfg["phones"]] == ["+14155550002", "+14155550004", "+14155550005"]


def test_assets_are_served_under_the_simulator_prefix(make_world):
    w = make_world()
    for name, kind in (("simulator.js", "javascript"), ("simulator.css", "text/css")):
        r = w.client.get(f"/simulator/assets/{name}")
        assert r.status_code == 200 and kind in r.content_type


# Only without Twilio ------------------------------------------------------

@pytest.mark.parametrize("settings", [TWILIO, {"simulator": False}], ids=["twilio-account", "SMSLINE_SIMULATOR=0"])
def test_every_simulator_url_is_404(make_world, settings):
    w = make_world(settings)
    for method, url in SIMULATOR_URLS:
        r = getattr(w.client, method)(url, json={"from": ORGANIZER, "body": "HELP", "number": ORGANIZER})
        assert r.status_code == 404, (method, url, r.status_code)
    assert w.redis.llen(Keys.sim_log) == 0


def test_simulator_setting_reads_the_environment():
    assert config.from_env({}).simulator_enabled
    assert not config.from_env({"SMSLINE_SIMULATOR": "0"}).simulator_enabled
    with_twilio = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "SMSLINE_SECRET_KEY": "k"}
    assert not config.from_env(with_twilio).simulator_enabled


# Sending: the same path as a real text ---------------------------------------

def test_a_simulated_text_goes_through_the_webhook_and_changes_state(sim):
    r = send(sim, ORGANIZER, f"ADD {MEMBER} Rose")
    assert r.status_code == 200
    replies = r.get_json()["replies"]
    assert replies and "JOIN" in replies[0]
    assert sim.line.store.invitation("member", sim.line.store.pid_for(MEMBER)) is not None
    entries = log(sim)["entries"]
    assert [(e["dir"], e["number"], e["body"]) for e in entries] == [
        ("in", ORGANIZER, f"ADD {MEMBER} Rose"), ("out", ORGANIZER, replies[0])]


def test_each_simulated_text_has_its_own_message_sid(sim):
    """Two identical texts are two texts: the webhook's repeat guard must not swallow the second."""
    first = send(sim, ORGANIZER, "START 30").get_json()["replies"]
    second = send(sim, ORGANIZER, "START 30").get_json()["replies"]
    assert first and second  # the second was acted on and answered, not swallowed as a repeat
    ins = [e for e in log(sim)["entries"] if e["dir"] == "in"]
    assert len(ins) == 2 and ins[0]["sid"] != ins[1]["sid"]
    assert all(re.fullmatch(r"SM[0-9a-f]{32}", e["sid"]) for e in ins)
    assert all(sim.redis.exists(Keys.seen.format(sid=e["sid"])) for e in ins)


def test_texts_the_worker_sends_on_its_own_reach_the_page(sim):
    """The invitation, the alert and the stand-down are sent by jobs, not as replies: they show up all the same."""
    send(sim, ORGANIZER, f"ADD {MEMBER} Rose")
    sim.run_jobs()
    send(sim, MEMBER, "JOIN")
    send(sim, MEMBER, f"BUDDY {BUDDY} Sam")
    sim.run_jobs()
    send(sim, BUDDY, "YES")
    sim.run_jobs()
    send(sim, MEMBER, "START 1")
    sim.run_jobs()
    seen = log(sim)
    sim.advance(10)
    new = log(sim, seen["next"], seen["entries"][-1]["sid"])["entries"]
    to_buddy = [e["body"] for e in new if e["number"] == BUDDY]
    assert any("Rose" in body and "ACK" in body for body in to_buddy), new
    assert all(e["dir"] == "out" for e in new)
    send(sim, BUDDY, "ACK")
    send(sim, MEMBER, "OK")
    sim.run_jobs()
    last = [e for e in log(sim)["entries"] if e["number"] == BUDDY][-1]
    assert last["dir"] == "out" and "Rose" in last["body"]
    invite = [e for e in log(sim)["entries"] if e["number"] == MEMBER and e["dir"] == "out"][0]
    assert "JOIN" in invite["body"] and "reply" not in invite


@pytest.mark.parametrize("form, error", [
    ({"from": "12", "body": "HELP"}, "could not be read"),
    ({"from": "", "body": "HELP"}, "could not be read"),
    ({"from": ORGANIZER, "body": "x" * (MAX_BODY + 1)}, "at most"),
])
def test_bad_sends_are_refused_and_reach_nothing(sim, form, error):
    r = sim.client.post("/simulator/send", json=form)
    assert r.status_code == 400 and error in r.get_json()["error"]
    assert sim.redis.llen(Keys.sim_log) == 0


def test_send_reads_numbers_as_people_type_them(sim):
    r = sim.client.post("/simulator/send", json={"from": "(415) 555-0001", "body": "HELP"})
    assert r.status_code == 200 and r.get_json()["number"] == ORGANIZER


# Only this machine, only the page itself (issue 12: cross-site posts and DNS rebinding) -------

def _nothing_happened(sim) -> None:
    assert sim.redis.llen(Keys.sim_log) == 0
    assert sim.line.store.pid_for(MEMBER) is None


@pytest.mark.parametrize("url", ["/simulator/send", "/simulator/phones"])
def test_a_form_post_is_refused_and_changes_nothing(sim, url):
    """A cross-site HTML form can post urlencoded or text/plain bodies without a preflight: never acted on."""
    form = {"from": ORGANIZER, "body": f"ADD {MEMBER} Rose", "number": MEMBER}
    r = sim.client.post(url, data=form)
    assert r.status_code == 403 and "JSON" in r.get_json()["error"]
    r = sim.client.post(url, data=json.dumps(form), content_type="text/plain")
    assert r.status_code == 403
    _nothing_happened(sim)


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://localhost:9999"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_a_post_from_another_page_is_refused_and_changes_nothing(sim, headers):
    r = sim.client.post("/simulator/send", json={"from": ORGANIZER, "body": f"ADD {MEMBER} Rose"}, headers=headers)
    assert r.status_code == 403 and "own page" in r.get_json()["error"]
    _nothing_happened(sim)


def test_a_post_from_the_page_itself_is_accepted(sim):
    headers = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    r = sim.client.post("/simulator/send", json={"from": ORGANIZER, "body": f"ADD {MEMBER} Rose"}, headers=headers)
    assert r.status_code == 200 and "Invitation sent" in r.get_json()["replies"][0]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "192.168.1.20:5000", "127.0.0.1.evil.example",
                                  "localhost.evil.example:5000", "0.0.0.0:5000"])
@pytest.mark.parametrize("method, url", [("get", "/simulator"), ("get", "/simulator/log?after=0"),
                                         ("post", "/simulator/send"), ("get", "/simulator/assets/simulator.js")])
def test_any_host_but_loopback_is_refused_so_dns_rebinding_reads_and_changes_nothing(sim, host, method, url):
    sim.line.transport.send(ORGANIZER, "a text only this machine may read")
    r = getattr(sim.client, method)(url, base_url=f"http://{host}/",
                                    json={"from": ORGANIZER, "body": f"ADD {MEMBER} Rose"})
    assert r.status_code == 403
    assert b"only this machine may read" not in r.data
    assert sim.redis.llen(Keys.sim_log) == 1 and sim.line.store.pid_for(MEMBER) is None


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost", "LOCALHOST:80", "[::1]:5000", "127.0.0.1"])
def test_loopback_hosts_with_or_without_a_port_are_served(sim, host):
    assert sim.client.get("/simulator", base_url=f"http://{host}/").status_code == 200
    r = sim.client.post("/simulator/send", base_url=f"http://{host}/", json={"from": ORGANIZER, "body": "HELP"})
    assert r.status_code == 200


def test_added_phones_are_read_like_numbers_in_texts(sim):
    assert sim.client.post("/simulator/phones", json={"number": "415 555 0109"}).get_json() == {"number": "+14155550109"}
    r = sim.client.post("/simulator/phones", json={"number": "+1555"})
    assert r.status_code == 400 and "could not be read" in r.get_json()["error"]


# The log: short polling ----------------------------------------------------

def _fill(w, n: int) -> None:
    for i in range(n):
        w.line.transport.send(ORGANIZER, f"text {i}")


def test_polling_returns_only_texts_the_page_has_not_shown(sim):
    _fill(sim, 3)
    first = log(sim)
    assert [e["body"] for e in first["entries"]] == ["text 0", "text 1", "text 2"] and first["next"] == 3
    assert log(sim, 3, first["entries"][-1]["sid"]) == {"entries": [], "next": 3}
    _fill(sim, 1)
    more = log(sim, 3, first["entries"][-1]["sid"])
    assert [e["body"] for e in more["entries"]] == ["text 0"] and more["next"] == 4


def test_polling_finds_its_place_again_after_the_log_was_trimmed(sim):
    _fill(sim, 5)
    page = log(sim)
    sim.redis.lpop(Keys.sim_log, 2)  # the oldest texts were trimmed away: indexes moved
    _fill(sim, 1)
    again = log(sim, page["next"], page["entries"][-1]["sid"])
    assert [e["body"] for e in again["entries"]] == ["text 0"] and again["next"] == 4


def test_polling_after_the_log_was_cleared_starts_over(sim):
    _fill(sim, 2)
    page = log(sim)
    sim.redis.delete(Keys.sim_log)
    _fill(sim, 1)
    again = log(sim, page["next"], page["entries"][-1]["sid"])
    assert [e["body"] for e in again["entries"]] == ["text 0"] and again["next"] == 1


def test_a_fresh_page_gets_only_the_latest_texts_and_skips_broken_entries(sim):
    from smsline import simulator

    sim.redis.rpush(Keys.sim_log, "not json", json.dumps([1, 2]))
    _fill(sim, simulator.FIRST_PAGE + 5)
    page = log(sim)
    assert len(page["entries"]) == simulator.FIRST_PAGE and page["next"] == simulator.FIRST_PAGE + 7
    assert page["entries"][-1]["body"] == f"text {simulator.FIRST_PAGE + 4}"


# make run's demo -----------------------------------------------------------

def test_make_run_without_twilio_sets_a_demo_organizer_and_a_fast_clock():
    env = {}
    said = run.demo_defaults(env)
    assert env == {"SMSLINE_ORGANIZERS": DEMO_ORGANIZER, "SMSLINE_SECONDS_PER_MINUTE": run.DEMO_SECONDS_PER_MINUTE,
                   "HOST": "127.0.0.1"}
    assert len(said) == 3
    assert config.from_env(env).organizers == (DEMO_ORGANIZER,)


def test_make_run_keeps_what_is_configured_and_leaves_a_twilio_line_alone():
    env = {"SMSLINE_ORGANIZERS": "+14155550199", "SMSLINE_SECONDS_PER_MINUTE": "60", "HOST": "0.0.0.0"}
    assert run.demo_defaults(env) == [] and env["SMSLINE_ORGANIZERS"] == "+14155550199"
    twilio = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}
    assert run.demo_defaults(twilio) == [] and "SMSLINE_ORGANIZERS" not in twilio and "HOST" not in twilio
