"""Headless Chromium plays a whole check-in on the simulator page, against real processes without Twilio.

Also the script behind ``make screenshot``::

    python -m tests.test_browser docs/simulator.png

which plays the same scenario on a line it starts in a temporary folder and
saves a picture of the page once the buddy has answered the alert.

Needs Debian's Chromium (``apt-get install -y chromium``) and Playwright for
Python (requirements.txt), driven with ``executable_path`` since
``playwright install`` cannot download browsers here. Without them the test
skips, unless ``SMSLINE_REQUIRE_BROWSER=1`` (set by .ci/run) makes that a
failure.
"""
from __future__ import annotations

import os
import shutil
import string
import sys
import tempfile

import pytest

from smsline import messages
from tests.lineprocs import running_line

ORGANIZER, MEMBER, BUDDY = "+14155550001", "+14155550002", "+14155550003"
APT_COMMAND = "sudo apt-get install -y chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The line without a Twilio account: the harness's stand-in settings are removed, not emptied.
NO_TWILIO = {"TWILIO_ACCOUNT_SID": None, "TWILIO_AUTH_TOKEN": None, "TWILIO_FROM_NUMBER": None,
             "TWILIO_API_URL": None, "SMSLINE_PUBLIC_URL": None}
WAIT_MS = 20_000  # for a text to show up: one poll (1 s) plus the timer steps on the line's clock


def chromium_path() -> str | None:
    path = os.environ.get("SMSLINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.access(path, os.X_OK) else None


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None."""
    missing = []
    if chromium_path() is None:
        missing.append(f"Chromium (install it with: {APT_COMMAND})")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (make install)")
    return "the browser test needs " + " and ".join(missing) if missing else None


def said(key: str) -> str:
    """The longest fixed piece of catalog text `key`: on screen whatever its fields were."""
    pieces = [literal for literal, *_ in string.Formatter().parse(messages.EN[key])]
    return max(pieces, key=len).strip()


class Simulator:
    """The simulator page, seen as a person sees it."""

    def __init__(self, page):
        from playwright.sync_api import expect

        self.page, self.expect = page, expect

    def phone(self, number: str):
        return self.page.locator(f'section.phone[data-number="{number}"]')

    def text(self, number: str, body: str) -> None:
        """Type a text on that phone and press Enter; it shows as sent on that phone."""
        box = self.phone(number).get_by_role("textbox")
        box.fill(body)
        box.press("Enter")
        self.expect(self.phone(number).locator("li.sent", has_text=body).last).to_be_visible(timeout=WAIT_MS)

    def sees(self, number: str, key: str) -> None:
        """That phone has received the catalog text `key`."""
        received = self.phone(number).locator("li.received", has_text=said(key))
        self.expect(received.first).to_be_visible(timeout=WAIT_MS)


def play(page, url: str, screenshot: str | None = None) -> None:
    """The scenario: enrol, invite a buddy, let a timer lapse, ACK, OK, stand down."""
    sim = Simulator(page)
    page.goto(url + "/simulator")
    sim.expect(page.locator("#clock")).to_contain_text("SMSLINE_SECONDS_PER_MINUTE")
    for number, name in ((ORGANIZER, "Organizer"), (MEMBER, "Member"), (BUDDY, "Buddy")):
        sim.expect(sim.phone(number).get_by_role("heading")).to_have_text(name)

    # 1. The organizer ADDs a member, who is invited on their own phone.
    sim.text(ORGANIZER, f"ADD {MEMBER} Rose")
    sim.sees(ORGANIZER, "add_ok")
    sim.sees(MEMBER, "invite_member_both")  # nobody chose a language: both
    # 2. The member JOINs and invites a buddy.
    sim.text(MEMBER, "JOIN")
    sim.sees(MEMBER, "join_ok")
    sim.text(MEMBER, f"BUDDY {BUDDY} Sam")
    sim.sees(MEMBER, "buddy_invited")
    sim.sees(BUDDY, "invite_buddy_both")
    # 3. The buddy says YES; the member hears of it.
    sim.text(BUDDY, "YES")
    sim.sees(BUDDY, "buddy_yes")
    sim.sees(MEMBER, "buddy_accepted")
    # 4. The member starts a one-minute timer and lets it lapse.
    sim.text(MEMBER, "START 1")
    sim.sees(MEMBER, "start_ok")
    sim.sees(MEMBER, "timeup")
    # 5. The worker alerts the buddy on its own.
    sim.sees(BUDDY, "alert")
    sim.expect(sim.phone(BUDDY).locator("li.received", has_text=said("alert")).first).to_contain_text("Rose")
    # 6. The buddy ACKs; the member is told someone is on it.
    sim.text(BUDDY, "ACK")
    sim.sees(BUDDY, "ack_ok_alone")  # the only one alerted: not told "the others were told"
    sim.sees(MEMBER, "ack_member")
    if screenshot:
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.screenshot(path=screenshot)
    # 7. The member is safe.
    sim.text(MEMBER, "OK")
    sim.sees(MEMBER, "ok_after_alert")
    # 8. The buddy is told to stand down.
    sim.sees(BUDDY, "standdown")


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


@pytest.fixture
def browser():
    why = missing_browser()
    if why:
        print(why)
        if os.environ.get("SMSLINE_REQUIRE_BROWSER") == "1":
            pytest.fail(why + " (SMSLINE_REQUIRE_BROWSER=1)")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def simulator_line(tmp_path):
    with running_line(str(tmp_path / "line"), seconds_per_minute=0.2, organizers=[ORGANIZER], env=NO_TWILIO) as line:
        yield line
        print(line.logs())


def test_a_whole_check_in_plays_out_on_the_simulator_page(browser, simulator_line, tmp_path):
    """ADD, JOIN, BUDDY, YES, START 1 lapsing, the alert, ACK, OK and the stand-down, all read off the screen."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        play(page, simulator_line.url)
    except BaseException:
        page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
        print(f"screenshot of the page: {tmp_path / 'failed.png'}")
        raise


def test_phones_are_added_from_the_keyboard_and_fit_a_small_screen(browser, simulator_line):
    """Tab and Enter add a phone and put the cursor in its text box; at 360 px wide nothing scrolls sideways."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(simulator_line.url + "/simulator")
    page.get_by_label("Number", exact=True).focus()
    page.keyboard.type("415 555 0109")
    page.keyboard.press("Tab")
    page.keyboard.type("Friend")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add phone")).to_be_focused()
    page.keyboard.press("Enter")
    box = page.get_by_label("Text from Friend")
    expect(box).to_be_focused()
    page.keyboard.type("HELP")
    page.keyboard.press("Enter")
    friend = page.locator('section.phone[data-number="+14155550109"]')
    expect(friend.locator("li.received")).to_have_count(1, timeout=WAIT_MS)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    lefts = {round(page.locator("section.phone").nth(i).bounding_box()["x"]) for i in range(4)}
    assert len(lefts) == 1, f"phones should stack in one column on a small screen, found x = {lefts}"


def test_a_long_thread_adds_no_blank_space_below_the_page(browser, simulator_line):
    """Each bubble's hidden "Sent:"/"Received:" label stays inside its scrolled thread: the page ends at its content."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(simulator_line.url + "/simulator")
    box = Simulator(page).phone(ORGANIZER).get_by_role("textbox")
    for _ in range(30):
        box.fill("HELP")
        box.press("Enter")
    expect(Simulator(page).phone(ORGANIZER).locator("li.received")).to_have_count(60, timeout=WAIT_MS)
    extra = page.evaluate("""() => document.documentElement.scrollHeight
        - Math.max(...[...document.body.children].filter(e => e.getClientRects().length)
                   .map(e => e.getBoundingClientRect().bottom + window.scrollY))""")
    assert extra <= 40, f"{extra} px of blank space below the page's content"


def test_an_empty_send_says_why_nothing_went(browser, simulator_line):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(simulator_line.url + "/simulator")
    phone = Simulator(page).phone(MEMBER)
    phone.get_by_role("textbox").fill("   ")
    phone.get_by_role("button", name="Send").click()
    expect(phone.get_by_role("status")).to_contain_text("Nothing sent: the text is empty")
    page.wait_for_timeout(1500)  # a poll in between does not wipe it
    expect(phone.get_by_role("status")).to_contain_text("Nothing sent")
    assert phone.locator("li").count() == 0
    phone.get_by_role("textbox").fill("HELP")
    expect(phone.locator(".send-note")).to_be_empty()


def main(argv: list[str]) -> int:
    """``make screenshot``: play the scenario on a line in a temporary folder and save the page mid-way."""
    out = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join("docs", "simulator.png"))
    why = missing_browser()
    if why:
        print(why, file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    os.makedirs(os.path.dirname(out), exist_ok=True)
    # A slower clock than the test's, so the alert is answered before it repeats.
    with tempfile.TemporaryDirectory(prefix="smsline-screenshot-") as workdir, \
            running_line(workdir, seconds_per_minute=1.0, organizers=[ORGANIZER], env=NO_TWILIO) as line, \
            sync_playwright() as p:
        chromium = launch(p)
        try:
            page = chromium.new_page(viewport={"width": 1040, "height": 760}, device_scale_factor=1)
            play(page, line.url, screenshot=out)
        finally:
            chromium.close()
    print(f"saved {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
