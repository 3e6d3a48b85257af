"""The fault suite: real processes (the Procfile's web and worker, the embedded
Redis with AOF, the Twilio stand-in) put through what goes wrong in production.

Every figure the suite measures is printed (``pytest -s`` shows them) and
docs/RELIABILITY.md quotes them. The slow scenarios (the two-minute health
outage, the scheduler holder killed) run in background threads on lines of
their own from the moment the module starts, while the quick ones run in the
foreground; the background tests at the end of the module only collect them.
"""
from __future__ import annotations

import concurrent.futures
import signal
import time

import pytest

from smsline.store import Keys, Store
from tests.helpers import ALERT, REPEAT, STANDDOWN, Said, fresh, ok, replies, seed_member
from tests.lineprocs import Line
from tests.signing import TEST_SECRET_KEY

SPM = 0.2  # a line minute is 0.2 s: grace (5 min) is 1 s
GRACE = 5 * SPM
ORG = "+14155551000"

MEMBER_ALERTED = Said("member_alerted")
UNDELIVERED = Said("alert_undelivered")
NOBODY_REACHED = Said("no_buddy_reachable")

SWEEP = 10          # worker.py's sweep interval
CLAIM_LEASE = 30    # a send claimed by a worker that died is retried after this


def seed(view: "View", buddies: int = 1, lang: str = "en") -> tuple[str, list[str]]:
    """A member with `buddies` confirmed buddies (Sam0, Sam1, ...), written straight into the line's records."""
    member, numbers = fresh(), [fresh() for _ in range(buddies)]
    seed_member(view.store, member, f"Rose{member[-4:]}", [(b, f"Sam{i}") for i, b in enumerate(numbers)], lang=lang)
    return member, numbers


class View:
    """The line's records, read from its Redis."""

    def __init__(self, line: Line):
        self.line = line
        self.r = line.redis_client()
        self.store = Store(self.r, TEST_SECRET_KEY)

    def pid(self, number: str) -> str:
        return self.store.pid_for(number)

    def timer(self, number: str):
        return self.store.timer(self.pid(number))

    def alert_due(self, number: str) -> float:
        """When round 1 falls due: the end plus grace."""
        t = self.timer(number)
        return t.ends_at + GRACE

    def deliveries(self, number: str) -> dict[str, str]:
        t = self.timer(number)
        return self.store.deliveries(self.pid(number), t.tid)

    def close(self):
        self.r.close()


def texts(line: Line, number: str, said: Said) -> list:
    return [m for m in line.twilio.messages(to=number) if said(m.body)]


def reached(status: str) -> str:
    """The names a STATUS reply says the alert reached."""
    return (Said("part_reached").fields(status) or {}).get("names", "")


def alerts(line: Line, number: str) -> list:
    return [m for m in line.twilio.messages(to=number) if ALERT(m.body) or REPEAT(m.body)]


def attempts_to(line: Line, number: str, since: float = 0.0) -> list:
    return [a for a in line.twilio.attempts if a.to == number and a.time >= since]


def wait_until(predicate, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(step)


def sleep_until(t: float) -> None:
    left = t - time.time()
    if left > 0:
        time.sleep(left)


def start_timer(line: Line, view: View, member: str, minutes: int = 1, note: str = "") -> float:
    """START; returns when round 1 falls due."""
    assert Said("start_ok").among(replies(line.text(member, f"START {minutes} {note}".strip())))
    return view.alert_due(member)


def env(**extra) -> dict:
    base = {"SMSLINE_GRACE_MINUTES": "5", "SMSLINE_REMINDER_MINUTES": "10"}
    base.update({k: str(v) for k, v in extra.items()})
    return base


# -- Twilio faults: one line, each test with members and buddies of its own ---------

@pytest.fixture(scope="module")
def tline(tmp_path_factory):
    """A line whose repeats are far apart (60 s): round 1 is all these tests look at."""
    line = Line(str(tmp_path_factory.mktemp("twilio-faults")), seconds_per_minute=SPM, organizers=ORG,
                env=env(SMSLINE_REALERT_MINUTES=300))
    line.start()
    view = View(line)
    try:
        yield line, view
    finally:
        view.close()
        line.stop()
        print(line.logs(15))


def test_outage_at_the_alarm_moment_alert_arrives_once_after_recovery(tline):
    """Twilio answers 500 for 4 s around the alarm: the alert arrives once, soon after recovery."""
    line, view = tline
    member, (bud,) = seed(view)
    due = start_timer(line, view, member)
    sleep_until(due - 0.5)
    rule = line.twilio.fail_with(500, 20500, for_numbers={bud, member})
    sleep_until(due + 3.5)
    rule.remaining = 0  # the outage is over
    recovered = time.time()
    line.twilio.wait_for(lambda m: m.to == bud and ALERT(m.body), timeout=20)
    time.sleep(3)
    got = alerts(line, bud)
    failed = [a for a in attempts_to(line, bud) if a.status_code == 500]
    lag = got[0].time - recovered
    print(f"\nOUTAGE: {len(failed)} refused attempts to the buddy, {len(got)} alert accepted "
          f"{lag:.2f} s after recovery; refused at {[round(a.time - due, 2) for a in failed]} s after due")
    assert len(got) == 1, got
    assert failed, "the outage did not hit the alarm"
    assert lag < 20
    assert got[0].time >= due
    line.twilio.wait_for(lambda m: m.to == member and MEMBER_ALERTED(m.body), timeout=20)
    assert Said("ok_after_alert").among(replies(line.text(member, "OK")))
    line.twilio.wait_for(lambda m: m.to == bud and STANDDOWN(m.body), timeout=10)


def test_429_is_backed_off_and_the_alert_goes_once(tline):
    """Three 429/20429 answers: the line backs off (growing gaps) and then sends the alert once."""
    line, view = tline
    member, (bud,) = seed(view)
    due = start_timer(line, view, member)
    sleep_until(due - 0.5)
    line.twilio.fail_with(429, 20429, count=3, for_numbers={bud})
    line.twilio.wait_for(lambda m: m.to == bud and ALERT(m.body), timeout=20)
    time.sleep(2)
    tried = attempts_to(line, bud, since=due - 0.5)
    times = [round(a.time - due, 2) for a in tried]
    print(f"\n429: attempts at {times} s after due, codes {[a.code for a in tried]}")
    assert [a.code for a in tried].count(20429) == 3
    assert len(alerts(line, bud)) == 1
    assert tried[-1].time - tried[0].time >= 1.0, "no back-off between 429s"
    ok(line.text(member, "OK"))


def test_21610_is_not_retried_and_the_alert_is_handed_on(tline):
    """A buddy who opted out at Twilio (21610) is tried once; organizers get the alert; the member is told."""
    line, view = tline
    member, (gone, kept) = seed(view, buddies=2)
    lonely, (gone2,) = seed(view)
    line.twilio.fail_with(400, 21610, for_numbers={gone, gone2})
    org_before = len(alerts(line, ORG))
    due = max(start_timer(line, view, member), start_timer(line, view, lonely))
    line.twilio.wait_for(lambda m: m.to == member and UNDELIVERED(m.body), timeout=15)
    line.twilio.wait_for(lambda m: m.to == lonely and NOBODY_REACHED(m.body), timeout=15)
    line.twilio.wait_for(lambda m: m.to == ORG and ALERT(m.body), timeout=15, count=org_before + 2)
    time.sleep(3)
    n_gone = len(attempts_to(line, gone))
    n_gone2 = len(attempts_to(line, gone2))
    print(f"\n21610: attempts per opted-out buddy {n_gone}, {n_gone2}; "
          f"organizer alerts {len(alerts(line, ORG)) - org_before}")
    assert (n_gone, n_gone2) == (1, 1)
    assert len(alerts(line, kept)) == 1
    assert "Sam0" in texts(line, member, UNDELIVERED)[0].body
    assert len(texts(line, member, UNDELIVERED)) == 1
    assert len(texts(line, lonely, NOBODY_REACHED)) == 1
    status = " ".join(replies(line.text(member, "STATUS")))
    print(f"21610: STATUS says {status!r}")
    assert Said("part_missed", names="Sam0").within(status) and "Sam1" in reached(status)
    for m in (member, lonely):
        ok(line.text(m, "OK"))
    line.twilio.wait_for(lambda m: m.to == ORG and STANDDOWN(m.body), timeout=10, count=2)


def test_undelivered_callback_hands_the_alert_on_and_status_shows_reach(tline):
    """A 30003 'undelivered' callback for one buddy: organizers get the alert; STATUS shows who was reached."""
    line, view = tline
    member, (lost, kept) = seed(view, buddies=2)
    org_before = len(alerts(line, ORG))
    start_timer(line, view, member)
    lost_msg = line.twilio.wait_for(lambda m: m.to == lost and ALERT(m.body), timeout=15)[0]
    kept_msg = line.twilio.wait_for(lambda m: m.to == kept and ALERT(m.body), timeout=15)[0]
    assert kept_msg.status_callback and kept_msg.status_callback.endswith("/sms/status")
    assert line.twilio.send_status_callback(kept_msg, "delivered", None).status_code == 204
    sent = time.time()
    assert line.twilio.send_status_callback(lost_msg, "undelivered", "30003").status_code == 204
    org = line.twilio.wait_for(lambda m: m.to == ORG and ALERT(m.body), timeout=15, count=org_before + 1)[-1]
    told = line.twilio.wait_for(lambda m: m.to == member and UNDELIVERED(m.body), timeout=15)
    print(f"\n30003: organizer alerted {org.time - sent:.2f} s after the callback; member told "
          f"{told[0].time - sent:.2f} s after")
    # A repeated callback changes nothing.
    line.twilio.send_status_callback(lost_msg, "undelivered", "30003")
    status = " ".join(replies(line.text(member, "STATUS")))
    print(f"30003: STATUS says {status!r}")
    assert Said("part_missed", names="Sam0").within(status) and "Sam1" in reached(status)
    d = view.deliveries(member)
    assert d[f"1:{view.pid(lost)}"].startswith("failed:30003"), d
    assert d[f"1:{view.pid(kept)}"].startswith("delivered:"), d
    time.sleep(2)
    assert len(alerts(line, ORG)) == org_before + 1
    assert len(texts(line, member, UNDELIVERED)) == 1
    assert len(alerts(line, lost)) == len(alerts(line, kept)) == 1
    ok(line.text(member, "OK"))


def test_lost_answer_costs_at_most_one_duplicate_and_still_gets_the_stand_down(tline):
    """Twilio accepts the alert but its answer is lost (the window the spec cannot close).

    Member A stays silent: count the copies and the gap between them. Member B texts OK
    0.3 s after the lost alert: the buddy, who did get it, must get the stand-down.
    """
    line, view = tline
    a, (bud_a,) = seed(view)
    b, (bud_b,) = seed(view)
    due = max(start_timer(line, view, a), start_timer(line, view, b))
    sleep_until(due - 0.6)
    line.twilio.lose_answer(count=1, for_numbers={bud_a})
    line.twilio.lose_answer(count=1, for_numbers={bud_b})
    first_b = line.twilio.wait_for(lambda m: m.to == bud_b and ALERT(m.body), timeout=15)[0]
    time.sleep(0.3)  # the member is quick: before any retry of the lost text
    reply_b = replies(line.text(b, "OK"))
    line.twilio.wait_for(lambda m: m.to == bud_a and ALERT(m.body), timeout=15)
    # Long enough for the claim lease (30 s) and a sweep to pass.
    deadline = due + 45
    while time.time() < deadline and len(alerts(line, bud_a)) < 2:
        time.sleep(0.5)
    got_a = alerts(line, bud_a)
    gap = got_a[1].time - got_a[0].time if len(got_a) > 1 else None
    print(f"\nLOST ANSWER: silent member's buddy got {len(got_a)} copies"
          + (f", the second {gap:.1f} s after the first" if gap is not None else "")
          + f"; OK-ing member's buddy got {len(alerts(line, bud_b))} copies and "
          f"{len(texts(line, bud_b, STANDDOWN))} stand-downs "
          f"(OK reply says stand down: {Said('ok_after_alert').among(reply_b)})")
    assert 1 <= len(got_a) <= 2
    assert len(alerts(line, bud_b)) <= 2
    ok(line.text(a, "OK"))
    line.twilio.wait_for(lambda m: m.to == bud_a and STANDDOWN(m.body), timeout=10)
    time.sleep(1)
    assert len(texts(line, bud_a, STANDDOWN)) == 1
    # The buddy of B had the alert in hand (Twilio accepted it at first_b.time): never an alert alone.
    assert first_b.time < time.time()
    assert len(texts(line, bud_b, STANDDOWN)) == 1, (
        "an alert Twilio accepted but whose answer was lost is cancelled by OK: its buddy gets no stand-down")


# -- Worker crashes and stops: one line, tests in turn ------------------------------

@pytest.fixture(scope="module")
def cline(tmp_path_factory):
    """A line that sends at most two texts at once, so a round to many buddies takes a while."""
    line = Line(str(tmp_path_factory.mktemp("crashes")), seconds_per_minute=SPM, organizers=ORG,
                env=env(SMSLINE_REALERT_MINUTES=300, SMSLINE_SEND_CONCURRENCY=2))
    line.start()
    view = View(line)
    try:
        yield line, view
    finally:
        view.close()
        line.stop()
        print(line.logs(15))


def test_kill9_before_the_alarm_fires_within_15s_of_the_worker_coming_back(cline):
    """SIGKILL the worker; timers fall due while none runs; a new worker fires them at once,
    although the dead worker's scheduler lock lingers for about a minute."""
    line, view = cline
    late, (bud_late,) = seed(view)
    soon, (bud_soon,) = seed(view)
    due_late = start_timer(line, view, late, 5)       # due 2 s from now, fires while no worker runs
    line.kill_worker(signal.SIGKILL)
    killed = time.time()
    due_soon = start_timer(line, view, soon, 65)     # due 14 s from now: after the new worker starts
    r = view.r
    lock = r.get("rq:scheduler-lock:smsline-high")
    sleep_until(killed + 11)
    worker = line.start_worker()
    started = time.time()
    a_late = line.twilio.wait_for(lambda m: m.to == bud_late and ALERT(m.body), timeout=40)[0]
    a_soon = line.twilio.wait_for(lambda m: m.to == bud_soon and ALERT(m.body), timeout=40)[0]
    still_locked = r.get("rq:scheduler-lock:smsline-high") == lock and lock is not None
    print(f"\nKILL -9 BEFORE: overdue alarm arrived {a_late.time - started:.2f} s after the worker's start "
          f"({a_late.time - due_late:.1f} s after due); an alarm due {due_soon - started:.1f} s after the start "
          f"arrived {a_soon.time - due_soon:.2f} s late; dead scheduler's lock still held: {still_locked}")
    assert a_late.time - started <= 15
    assert a_soon.time >= due_soon
    assert a_soon.time - due_soon <= 20
    time.sleep(1)
    assert len(alerts(line, bud_late)) == len(alerts(line, bud_soon)) == 1
    for m, b in ((late, bud_late), (soon, bud_soon)):
        ok(line.text(m, "OK"))
    line.twilio.wait_for(lambda m: m.to in (bud_late, bud_soon) and STANDDOWN(m.body), timeout=15, count=2)
    assert worker.alive()


def test_kill9_during_a_round_leaves_no_buddy_without_the_alert(cline):
    """SIGKILL the worker while it texts eight buddies through a slow Twilio (1 s a text, two at
    once): every buddy gets the alert; only a text in flight at the kill may arrive twice."""
    line, view = cline
    member, buddies = seed(view, buddies=8)
    due = start_timer(line, view, member)
    sleep_until(due - 0.5)
    delay = line.twilio.delay = 1.0
    try:
        # Kill once two texts are through and two more are in flight.
        wait_until(lambda: len([m for m in line.twilio.messages() if m.to in buddies]) >= 2
                   and line.twilio.in_flight >= 1, timeout=15, what="the round under way")
        time.sleep(0.3)
        line.kill_worker(signal.SIGKILL)
        killed = time.time()
        line.start_worker()
        restarted = time.time()
        first = {b: alerts(line, b)[0] for b in buddies if alerts(line, b)}
        wait_until(lambda: all(alerts(line, b) for b in buddies), timeout=CLAIM_LEASE + 30,
                   what="every buddy alerted", step=0.2)
        done = time.time()
    finally:
        line.twilio.delay = 0.15
    time.sleep(3)
    counts = {b: len(alerts(line, b)) for b in buddies}
    # Requests whose answer the killed worker never read: arrived before the kill, answered after it.
    in_flight = {b for b in buddies for m in alerts(line, b)[:1] if m.time <= killed < m.time + delay + 0.05}
    accepted_before = {b for b, m in first.items() if m.time + delay + 0.05 <= killed}
    doubled = {b for b, n in counts.items() if n > 1}
    print(f"\nKILL -9 DURING: {len(first)} buddies had the alert at the kill ({len(accepted_before)} answered, "
          f"{len(in_flight)} in flight), the last buddy got it {done - killed:.1f} s after the kill "
          f"(worker restarted {restarted - killed:.1f} s after it); copies per buddy {sorted(counts.values())}; "
          f"doubled: {len(doubled)} ({len(doubled & accepted_before)} of them had been answered before the kill)")
    assert all(n >= 1 for n in counts.values())
    assert all(n <= 2 for n in counts.values())
    assert doubled <= in_flight, "a text Twilio had accepted and answered before the kill was sent again"
    ok(line.text(member, "OK"))
    line.twilio.wait_for(lambda m: m.to in buddies and STANDDOWN(m.body), timeout=20, count=len(buddies))
    time.sleep(1)
    assert all(len(texts(line, b, STANDDOWN)) == 1 for b in buddies)


def test_sigterm_lets_the_worker_finish_its_round_and_nothing_is_lost(cline):
    """SIGTERM while a round goes out slowly: the worker finishes it and exits 0; a new worker
    carries on (the member's notice, the stand-down) with nothing sent twice."""
    line, view = cline
    member, buddies = seed(view, buddies=3)
    due = start_timer(line, view, member)
    sleep_until(due - 0.5)
    line.twilio.delay = 1.5
    try:
        wait_until(lambda: line.twilio.in_flight >= 1 and any(
            f.startswith("1:") and v.startswith("sending:") for f, v in view.deliveries(member).items()),
            timeout=15, what="the round under way")
        term = time.time()
        worker = line.kill_worker(signal.SIGTERM, wait=False)
        code = worker.wait(20)
        stopped = time.time()
    finally:
        line.twilio.delay = 0.15
    d = view.deliveries(member)
    sent = [v for f, v in d.items() if f.startswith("1:")]
    print(f"\nSIGTERM: worker exited {code} {stopped - term:.1f} s after SIGTERM; round 1 states {sorted(sent)}")
    assert code == 0
    assert all(v.startswith("sent:") for v in sent) and len(sent) == 3, d
    assert all(len(alerts(line, b)) == 1 for b in buddies)
    line.start_worker()
    line.twilio.wait_for(lambda m: m.to == member and MEMBER_ALERTED(m.body), timeout=20)
    ok(line.text(member, "OK"))
    line.twilio.wait_for(lambda m: m.to in buddies and STANDDOWN(m.body), timeout=20, count=3)
    time.sleep(2)
    assert all(len(alerts(line, b)) == 1 for b in buddies)
    assert len(texts(line, member, MEMBER_ALERTED)) == 1


# -- Redis restarts and lost scheduled jobs: one line, tests in turn ------------------

@pytest.fixture(scope="module")
def iline(tmp_path_factory):
    line = Line(str(tmp_path_factory.mktemp("infra")), seconds_per_minute=SPM, organizers=ORG,
                env=env(SMSLINE_REALERT_MINUTES=300))
    line.start()
    view = View(line)
    try:
        yield line, view
    finally:
        view.close()
        line.stop()
        print(line.logs(15))


@pytest.mark.parametrize("kill", [False, True], ids=["shutdown", "sigkill"])
def test_redis_restart_web_and_worker_survive_and_the_timer_fires(iline, kill):
    """Redis goes down for 4 s (clean shutdown, or SIGKILL with AOF everysec) with a timer armed:
    the same web and worker processes carry on, and the alarm still fires."""
    line, view = iline
    member, (bud,) = seed(view)
    due = start_timer(line, view, member, 40)          # due in 9 s
    pids = {p.name: p.pid for p in line.procs if p.alive()}
    time.sleep(1.5)                                    # AOF fsyncs every second
    view.r.close()
    down = time.time()
    line.restart_redis(down_for=4, kill=kill)
    up = time.time()
    # The web answers again (its client reconnects with back-off).
    body = replies(line.text(member, "STATUS"))
    answered = time.time()
    alert = line.twilio.wait_for(lambda m: m.to == bud and ALERT(m.body), timeout=40)[0]
    healthy = line.wait_healthy(30) and time.time()
    alive = {p.name: p.pid for p in line.procs if p.alive()}
    print(f"\nREDIS RESTART ({'SIGKILL' if kill else 'shutdown'}): down {up - down:.1f} s; web answered "
          f"{answered - up:.1f} s after it was back; alarm {alert.time - due:+.2f} s from due; "
          f"/healthz 200 {healthy - up:.1f} s after; same processes: {alive == pids}")
    assert Said("status_running").among(body)
    assert alive == pids, f"a process died or was replaced: {pids} -> {alive}"
    assert alert.time >= due and alert.time - due < 15
    logs = open(line.workers()[0].log_path).read()
    restarts = logs.count("worker loop ended without a stop request") + logs.count("general worker exited")
    print(f"REDIS RESTART: RQ loops restarted inside the worker process: {restarts}")
    assert restarts <= 2, "the worker's loop is restarted over and over"
    time.sleep(1)
    assert len(alerts(line, bud)) == 1
    ok(line.text(member, "OK"))
    line.twilio.wait_for(lambda m: m.to == bud and STANDDOWN(m.body), timeout=10)
    view.r = line.redis_client()
    view.store = Store(view.r, TEST_SECRET_KEY)


def test_redis_down_20s_under_a_running_round_the_worker_carries_on(iline):
    """Redis goes away for 20 s while the worker texts a round through a slow Twilio (longer than
    the Redis client's own retries, so the job fails under RQ): the same worker process carries
    on, every buddy gets the alert, and a text whose acceptance could not be recorded is the only
    kind sent twice."""
    line, view = iline
    member, buddies = seed(view, buddies=4)
    due = start_timer(line, view, member)
    worker = line.workers()[0]
    sleep_until(due - 0.5)
    line.twilio.delay = 2.0
    try:
        wait_until(lambda: line.twilio.in_flight >= 1, timeout=15, what="the round under way")
        view.r.close()
        down = time.time()
        line.restart_redis(down_for=20)
        up = time.time()
    finally:
        line.twilio.delay = 0.15
    view.r = line.redis_client()
    view.store = Store(view.r, TEST_SECRET_KEY)
    wait_until(lambda: all(alerts(line, b) for b in buddies), timeout=60, what="every buddy alerted", step=0.2)
    last = max(alerts(line, b)[0].time for b in buddies)
    sleep_until(due + CLAIM_LEASE + SWEEP + 3)  # a claim left behind is resent by now
    counts = sorted(len(alerts(line, b)) for b in buddies)
    restarts = open(worker.log_path).read().count("worker loop ended without a stop request")
    print(f"\nREDIS DOWN UNDER A ROUND: down {up - down:.1f} s; every buddy had the alert {last - due:.1f} s "
          f"after due; copies per buddy {counts}; worker alive {worker.alive()} (RQ loop restarted {restarts}x)")
    assert worker.alive(), "the worker process died with Redis"
    assert all(1 <= n <= 2 for n in counts)
    ok(line.text(member, "OK"))
    line.twilio.wait_for(lambda m: m.to in buddies and STANDDOWN(m.body), timeout=20, count=len(buddies))
    time.sleep(1)
    assert all(len(texts(line, b, STANDDOWN)) == 1 for b in buddies)


@pytest.mark.parametrize("what", ["registry", "registry+jobs"])
def test_scheduled_jobs_deleted_behind_the_lines_back_are_rearmed(iline, what):
    """Someone deletes RQ's scheduled-job registry (and the job hashes): the sweep re-arms from
    the line's own records and the alarm fires at most about a sweep interval late."""
    line, view = iline
    r = view.r
    member, (bud,) = seed(view)
    due = start_timer(line, view, member, 20)          # due in 5 s
    time.sleep(0.5)
    registry = "rq:scheduled:smsline-high"
    deleted = [registry]
    if what == "registry+jobs":
        deleted += [k.decode() for k in r.scan_iter("rq:job:*") if b"heartbeat" not in k]
    r.delete(*deleted)
    alert = line.twilio.wait_for(lambda m: m.to == bud and ALERT(m.body), timeout=40)[0]
    print(f"\nJOBS DELETED ({what}, {len(deleted)} keys): alarm {alert.time - due:+.2f} s from due")
    assert alert.time >= due
    # Worst case today: the sweep runs a timer once it is 5 s overdue, and sweeps 10 s apart.
    assert alert.time - due <= SWEEP + 5 + 3, "more than about a sweep interval late"
    time.sleep(1)
    assert len(alerts(line, bud)) == 1
    ok(line.text(member, "OK"))
    line.twilio.wait_for(lambda m: m.to == bud and STANDDOWN(m.body), timeout=10)


# -- Slow scenarios, each on a line of its own, run in the background -----------------

def _holder(view: View, line: Line):
    """The worker process whose scheduler holds the lock, and the lock's owner token."""
    import os

    name = view.r.get("rq:scheduler-lock:smsline-high")
    if not name:
        return None, None
    pid = view.r.hget(f"rq:scheduler:{name.decode()}", "pid")
    if not pid:
        return None, name
    try:
        group = os.getpgid(int(pid))
    except ProcessLookupError:
        return None, name
    return next((w for w in line.workers() if w.pid == group), None), name


def scenario_scheduler_holder_killed(workdir: str) -> dict:
    """Two workers; SIGKILL the one whose scheduler holds the lock; timers fall due over the next
    85 s. Every alarm fires once, none more than 90 s late; the other worker takes the scheduler over."""
    line = Line(workdir, seconds_per_minute=SPM, organizers=ORG, env=env(SMSLINE_REALERT_MINUTES=1000))
    line.start()
    view = View(line)
    try:
        line.start_worker()
        holder, token = wait_until(lambda: (lambda h: h if h[0] else None)(_holder(view, line)), 20,
                                   "a worker holding the scheduler")
        offsets = [2, 4, 7, 12, 20, 30, 45, 60, 75, 88]
        members = [seed(view) for _ in offsets]
        base = time.time() + 0.5
        dues = {}
        for (member, (bud,)), off in zip(members, offsets):
            n = round((base + off - time.time() - GRACE) / SPM)
            dues[bud] = start_timer(line, view, member, n)
        line.kill_worker(signal.SIGKILL, worker=holder)
        killed = time.time()
        takeover, unhealthy = None, 0
        end = max(dues.values()) + 5
        while time.time() < end or takeover is None and time.time() < killed + 120:
            now = view.r.get("rq:scheduler-lock:smsline-high")
            if takeover is None and now and now != token:
                takeover = time.time() - killed
            if line.get("/healthz").status_code != 200:
                unhealthy += 1
            time.sleep(0.5)
        wait_until(lambda: all(alerts(line, b) for b in dues), 30, "every alarm")
        lateness = {b: alerts(line, b)[0].time - due for b, due in dues.items()}
        copies = [len(alerts(line, b)) for b in dues]
        for member, _ in members:
            ok(line.text(member, "OK"))
        return {"offsets": [round(d - killed, 1) for d in dues.values()],
                "lateness": [round(x, 2) for x in lateness.values()], "copies": copies,
                "takeover": takeover, "unhealthy_polls": unhealthy}
    except BaseException as e:
        raise AssertionError(f"{e}\n{line.logs(30)}") from e
    finally:
        view.close()
        line.stop()


def scenario_health(workdir: str) -> dict:
    """Stop the only worker for over two minutes: /healthz turns 503 and each organizer gets ONE
    text; the worker comes back: /healthz 200 and ONE recovery text each."""
    orgs = [ORG, "+14155551001"]
    line = Line(workdir, seconds_per_minute=SPM, organizers=orgs)
    line.start()
    view = View(line)
    down_text, up_text = Said("line_down"), Said("line_up")
    try:
        last_beat = float(view.r.get(Keys.heartbeat))
        line.kill_worker(signal.SIGTERM)
        stopped = time.time()
        t503 = wait_until(lambda: line.get("/healthz").status_code == 503 and time.time(), 200,
                          "/healthz 503", step=1.0)
        body = line.get("/healthz").text
        got = [line.twilio.wait_for(lambda m, o=o: m.to == o and down_text(m.body), timeout=40)[0]
               for o in orgs]
        told = max(m.time for m in got)
        time.sleep(17)  # at least one more check of the monitor while still down
        down_counts = [len(texts(line, o, down_text)) for o in orgs]
        line.start_worker()
        restarted = time.time()
        t200 = line.wait_healthy(60) and time.time()
        back = [line.twilio.wait_for(lambda m, o=o: m.to == o and up_text(m.body), timeout=40)[0] for o in orgs]
        time.sleep(17)
        result = {
            "stale_after": t503 - last_beat, "stopped_for": restarted - stopped, "body": body.strip(),
            "down_texts": [len(texts(line, o, down_text)) for o in orgs], "down_counts_while_down": down_counts,
            "told_after_stop": told - stopped, "healthy_after_restart": t200 - restarted,
            "up_after_restart": max(m.time for m in back) - restarted,
            "up_texts": [len(texts(line, o, up_text)) for o in orgs],
        }
        return result
    except BaseException as e:
        raise AssertionError(f"{e}\n{line.logs(30)}") from e
    finally:
        view.close()
        line.stop()


BACKGROUND = {
    "test_health_turns_503_and_organizers_get_one_text_each_way": scenario_health,
    "test_two_workers_scheduler_holder_killed_no_alarm_more_than_90s_late": scenario_scheduler_holder_killed,
}


@pytest.fixture(scope="module", autouse=True)
def background(request, tmp_path_factory):
    """Start the slow scenarios whose tests are selected, at once, each in a thread of its own."""
    selected = {item.name for item in request.session.items}
    wanted = {name: fn for name, fn in BACKGROUND.items() if name in selected}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(wanted)))
    futures = {name: pool.submit(fn, str(tmp_path_factory.mktemp(fn.__name__[9:])))
               for name, fn in wanted.items()}
    yield futures
    pool.shutdown(wait=True)


def test_two_workers_scheduler_holder_killed_no_alarm_more_than_90s_late(background):
    r = background["test_two_workers_scheduler_holder_killed_no_alarm_more_than_90s_late"].result(timeout=400)
    print(f"\nSCHEDULER HOLDER KILLED: alarms due {r['offsets']} s after the kill were late by {r['lateness']} s "
          f"(worst {max(r['lateness']):.1f} s); copies {r['copies']}; the other worker took the scheduler over "
          f"{r['takeover']:.1f} s after the kill; /healthz non-200 polls: {r['unhealthy_polls']}")
    assert all(c == 1 for c in r["copies"])
    assert min(r["lateness"]) >= 0
    assert max(r["lateness"]) < 90
    assert r["takeover"] is not None and r["takeover"] < 120
    assert r["unhealthy_polls"] == 0


def test_health_turns_503_and_organizers_get_one_text_each_way(background):
    r = background["test_health_turns_503_and_organizers_get_one_text_each_way"].result(timeout=400)
    print(f"\nHEALTH: /healthz 503 {r['stale_after']:.0f} s after the last heartbeat ({r['body']!r}); organizers "
          f"told {r['told_after_stop']:.0f} s after the stop; down texts {r['down_texts']}; worker back after "
          f"{r['stopped_for']:.0f} s: 200 in {r['healthy_after_restart']:.1f} s, recovery text in "
          f"{r['up_after_restart']:.1f} s; up texts {r['up_texts']}")
    assert 115 <= r["stale_after"] <= 140
    assert "worker" in r["body"]
    assert r["down_counts_while_down"] == [1, 1]
    assert r["down_texts"] == [1, 1] and r["up_texts"] == [1, 1]
    assert r["up_after_restart"] < 45
