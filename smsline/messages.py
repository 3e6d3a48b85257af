"""The catalog: every text the line sends, one table per language. render(key, lang, **fields)."""
from __future__ import annotations

from .gsm7 import fold, septets

REPLY_LIMIT = 160
LONG_LIMIT = 459

# Texts that may take up to three segments; every other key is one SMS.
LONG = {"alert", "alert_repeat", "alert_last", "sos", "ack_stale", "help", "help_more", "help_organizer",
        "help_buddy", "invite_member", "invite_buddy", "invite_organizer", "duress",
        "report_forward", "broadcast", "rights"}

# Free-text fields that may be shortened to make a text fit.
SHRINKABLE = ("note", "list", "names", "alias", "member", "by", "name", "suggestion")

EN = {
    # Timers
    "start_ok": "Timer on until {end_at}. Text OK when you are safe.",
    "start_replaced": "Your earlier timer is ended. New timer on until {end_at}. Text OK when you are safe.",
    "start_no_buddy": "You have no confirmed buddy yet, so organizers get your alerts. Add one: BUDDY number name",
    "start_usage": "To start a timer: START 60 (minutes), START 1h30 or START 10:30pm. Add where or who after it.",
    "bad_duration": "Times run from 1 minute to 24 hours, e.g. START 45, START 1h30 or START 10:30pm.",
    "ok_no_timer": "No timer is running. Text START 60 to begin one.",
    "ok_ended": "Good to hear. Your timer is ended.",
    "ok_after_alert": "Good to hear. Your timer is ended and everyone alerted is being told to stand down.",
    "ok_unclear": "To end your timer, text OK on its own. Your timer is still running.",
    "no_timer": "No timer is running. Text START 60 to begin one.",
    "extend_ok": "Timer now runs until {end_at}. Text OK when you are safe.",
    "extend_too_late": "Alerts already went out, so the time cannot change. Text OK when you are safe.",
    "extend_too_long": "A timer runs at most 24 hours. It still ends {end_at}.",
    "extend_usage": "To add time: EXTEND 30, EXTEND 1h or EXTEND 1h30.",
    "sos_ok": "Alert sent. Text OK when you are safe.",
    "sos_nobody": "Nobody could be alerted: add a buddy with BUDDY number name.",
    "status_none": "No timer is running. Text START 60 to begin one.",
    "status_running": "Timer on until {end_at}.{note_part}",
    "status_overdue": "Time is up. Alerts go out at {alert_at} unless you text OK.",
    "status_alerting": "Alerts went out at {alert_at}.{ack_part} Text OK when you are safe.",
    "reminder": "Reminder: your timer ends at {end_at}. Text OK if you are safe, or EXTEND 30 for more time.",
    "timeup": "Your time is up. Text OK now, or your buddies are alerted in {minutes} min.",
    "member_alerted": "Your buddies have been alerted. Text OK when you are safe.",
    "member_alerted_org": "You have no buddy, so organizers have been alerted. Text OK when you are safe.",
    # Alerts (to buddies and organizers)
    "alert": "{network}: {member} has not checked in. Timer started {started_at}.{note_part} "
             "First: call or text them now. If you cannot reach them, go or send someone to where the note says. "
             "Reply ACK when you are on it.",
    "alert_repeat": "{network}: still no check-in from {member} (alert {round}, first at {alert_at}). "
                    "Timer started {started_at}.{note_part} Call or text them now. Reply ACK when you are on it.",
    "alert_last": "{network}: LAST ALERT. {member} has not checked in since the alert at {alert_at}. "
                  "Timer started {started_at}.{note_part} No more repeats will be sent. Please act now.",
    "sos": "{network}: {member} asked for help now ({alert_at}).{note_part} "
           "First: call or text them. If you cannot reach them, go or send someone. Reply ACK when you are on it.",
    "ack_stale": "{network}: {member} has still not checked in since the alert at {alert_at}, "
                 "although someone replied ACK.{note_part} Please follow up.",
    "ack_member": "{by} got your alert and is on it.",
    "ack_others": "{by} is responding for {member}.",
    "ack_ok": "Thank you. Others were told you are on it for: {names}.",
    "ack_already": "Thank you. Someone is already on it for: {names}.",
    "ack_none": "No alert is open for you right now.",
    "standdown": "{network}: {member} is safe. Stand down from the alert of {alert_at}. Thank you.",
    # Membership
    "invite_member": "{network}: you are invited to a check-in line. Reply JOIN to accept, or ignore this text. "
                     "Reply STOP to get no more texts.",
    "join_ok": "Welcome to {network}. Buddies will see you as {alias}. Add one: BUDDY number name. HELP for more.",
    "join_none": "There is no invitation for this number.",
    "add_ok": "Invitation sent to {number}. They must reply JOIN.",
    "add_already": "{number} is already a member.",
    "add_usage": "To invite a member: ADD number alias, e.g. ADD 415 555 0100 Rose",
    "bad_number": "That number could not be read. Write it like +14155550100 or 415 555 0100.",
    "rate_limited": "Too many invitations for now. Please try again later.",
    "not_allowed": "Only organizers can do that. Text HELP for your commands.",
    "remove_ok": "{number} is no longer a member.",
    "remove_unknown": "{number} is not a member.",
    "remove_usage": "To remove a member: REMOVE number",
    "removed_notice": "You are no longer on {network}. Thank you.",
    "invite_organizer": "{network}: you are invited to help run this line as an organizer. "
                        "Reply YES to accept, or ignore this text.",
    "organizer_invited": "Invitation sent to {number}. They must reply YES.",
    "organizer_ok": "You are now an organizer of {network}. Text HELP for your commands.",
    "organizer_usage": "To invite an organizer: ORGANIZER number",
    "members_count": "Members: {count}.{list_part}",
    # Buddies
    "invite_buddy": "{network}: {member} asks you to be their check-in buddy. If they miss a check-in you get a text. "
                    "Reply YES to accept or NO to decline.",
    "buddy_invited": "Invitation sent to {number}. They get alerts once they reply YES.",
    "buddy_usage": "To add a buddy: BUDDY number name, e.g. BUDDY 415 555 0100 Sam",
    "buddy_self": "You cannot be your own buddy.",
    "buddy_already": "{number} is already your buddy.",
    "buddy_blocked": "That number cannot be invited.",
    "buddy_yes": "You are now a buddy of {member}. If they miss a check-in you get a text: reply ACK then.",
    "buddy_accepted": "{name} accepted: they will get your alerts.",
    "buddy_no": "Done. You will get no more invitations from them.",
    "buddy_declined": "{name} declined to be your buddy.",
    "yes_which": "You have {count} invitations: {list}. Reply YES and a number, e.g. YES 1.",
    "yes_none": "There is nothing waiting for a reply.",
    "buddies_list": "Buddies: {list}",
    "buddies_none": "You have no buddies yet. Add one: BUDDY number name",
    "unbuddy_ok": "{number} will no longer get your alerts.",
    "unbuddy_unknown": "{number} is not one of your buddies.",
    "unbuddy_usage": "To drop a buddy: UNBUDDY number",
    "unbuddied": "You will no longer get alerts for {member}.",
    "name_ok": "Buddies will now see you as {alias}.",
    "name_usage": "To set the name buddies see: NAME alias (up to 20 letters).",
    # Covert safety, TEST, WIPE
    "word_set": "Done. Delete this text and yours from the phone.",
    "word_off": "Done. It is removed. Delete this text and yours from the phone.",
    "word_usage": "Ask your organizer how to set this up.",
    "word_bad": "That cannot be used: choose one word of 3 to 30 letters or digits.",
    "word_is_command": "That word is a command of this line; choose another one.",
    "word_same": "The two words must be different; choose another one.",
    "word_needs_safe": "To change this, include your current word in the same text.",
    "duress": "{network}: {member} sent a silent alarm ({alert_at}) and may not be free to talk. Do not text first "
              "about it; call with a normal excuse, or go or send someone.{note_part} Reply ACK when you are on it.",
    "test_buddy": "{network}: TEST ONLY from {member}. Nothing is wrong. This checks that alerts reach you.",
    "test_sent": "Test sent. Buddies it went to: {count}.",
    "test_nobody": "You have no confirmed buddy to test. Add one: BUDDY number name",
    "wipe_confirm": "This erases everything kept about this number. Reply WIPE YES to confirm.",
    "wipe_done": "Everything kept about this number is erased.",
    "buddy_link_ended": "{name} is no longer your buddy.",
    # General
    "help": "{network}: START 60 (where, who) starts a timer. OK ends it. EXTEND 30 adds time. SOS alerts now. "
            "STATUS. BUDDY number name, BUDDIES, UNBUDDY number. NAME alias. TEST checks your buddies.",
    "help_more": "More: RIGHTS (your rights card), REPORT what happened (warns others), CHECK number or plate, "
                 "LANG ES, WIPE erases your data. STOP ends all texts.",
    "help_organizer": "Organizer: ADD number alias, REMOVE number, ORGANIZER number, MEMBERS, BROADCAST text, "
                      "REPORTS, APPROVE id (SEND), REJECT id, CARD ES text.",
    "help_buddy": "{network}: you are a buddy. When an alert comes, reply ACK once you are on it. "
                  "YES or NO answers an invitation. STOP ends all texts.",
    "unknown": "Sorry, that was not understood. Text HELP for the commands.",
    "did_you_mean": "Did you mean: {suggestion}? Nothing was done. Text it again to do it.",
    "help_running": "Your timer runs until {end_at}. Text OK when you are safe; STOP does not end it. "
                    "SOS alerts your buddies now.",
    "empty": "Your text was empty. Text HELP for the commands.",
    "stranger": "This number answers invited people only.",
    "lang_ok": "Texts to this number will be in English.",
    "lang_usage": "Languages: LANG EN (English), LANG ES (Spanish).",
    "not_available": "That command is not available on this line yet.",
    # Delivery problems
    "alert_undelivered": "Your alert could not reach {names}. Organizers are being alerted too. Text OK when safe.",
    "no_buddy_reachable": "None of your buddies can be reached by text. Organizers are being alerted. Text OK when safe.",
    "test_undelivered": "Your test text could not reach {name}. Check the number with them.",
    "line_down": "{network}: the line cannot raise alarms right now. Do not rely on timers until it says it is back.",
    "line_up": "{network}: the line is back and raises alarms again.",
    # Pieces other texts are built from.
    "part_note": " Note: {note}.",
    "part_ack": " {by} replied they are on it.",
    "part_list": " {list}",
    "part_waiting": " (waiting)",
    "label_member": "to join",
    "label_organizer": "to organize",
    "days": "Mon Tue Wed Thu Fri Sat Sun",
    "clock": "12h",
    "part_reached": " Reached: {names}.",
    "part_missed": " Not reached: {names}.",
    # Network: reports, screening, broadcasts, rights card
    "report_usage": "To warn organizers about someone: REPORT and what happened, with their number or plate if you have it.",
    "report_ok": "Thank you. Your report is #{id}. Organizers will look at it. Your name and number are never shown to others.",
    "report_limited": "Too many reports for now. Please try again later.",
    "report_forward": "{network}: report #{id} from {alias}:{list_part} {note} Reply APPROVE {id} to use it for CHECK, "
                      "APPROVE {id} SEND to also warn everyone, or REJECT {id}.",
    "redacted_number": "[number]",
    "redacted_plate": "[plate]",
    "redacted_name": "[name]",
    "report_unknown": "There is no open report #{id}.",
    "report_already": "Report #{id} is already approved.",
    "approve_ok": "Report #{id} approved: it now counts for CHECK.",
    "approve_sent": "Report #{id} approved and a warning is going out. Members: {count}. Texts: {texts}, about {minutes} min.",
    "approve_usage": "To approve a report: APPROVE id, or APPROVE id SEND to also warn everyone.",
    "reject_ok": "Report #{id} is dropped.",
    "reject_usage": "To drop a report: REJECT id",
    "reports_list": "To review: {list}{list_part}. Reply APPROVE id or REJECT id.",
    "reports_none": "No reports are waiting.",
    "check_usage": "To screen someone: CHECK and their number or plate, e.g. CHECK 415 555 0100 or CHECK 7ABC123.",
    "check_bad": "That is not a phone number or a plate. Try CHECK 415 555 0100 or CHECK 7ABC123.",
    "check_none": "No approved warnings match that. Stay careful all the same: tell a buddy and START a timer.",
    "check_found": "Approved warnings that match: {count}. {list}. Think twice; if you go, tell a buddy and START a timer.",
    "check_limited": "Too many checks for now. Please try again in an hour.",
    "cat_violence": "violence",
    "cat_robbery": "robbery",
    "cat_protection": "removed protection",
    "cat_no_pay": "did not pay",
    "cat_threats": "threats",
    "cat_drugging": "drugging",
    "cat_other": "other",
    "broadcast": "{note}",
    "broadcast_usage": "To text every member: BROADCAST and your message, at most 459 characters.",
    "broadcast_too_long": "That is {count} characters ({texts} texts). The most is 459 (3 texts). Please shorten it.",
    "broadcast_none": "There is nobody to send it to yet.",
    "broadcast_ok": "Sending now. Members: {count}. Texts: {texts}, about {minutes} min. You get a text when all went out.",
    "broadcast_done": "Your message has gone out. Members reached: {count}.",
    "rights": "{note}",
    "card_usage": "To replace the rights card: CARD and the text, or CARD ES and the text for Spanish. "
                  "At most 459 characters.",
    "card_too_long": "That card is {count} characters ({texts} texts). The most is 459 (3 texts). Please shorten it.",
    "card_confirm": "The new {language} card has {count} characters. Reply CARD YES within 10 min to use it, or CARD NO.",
    "card_ok": "The {language} rights card is replaced. Members get it with RIGHTS.",
    "card_cancelled": "The new card was not used.",
    "card_nothing": "No new card is waiting. Send CARD and the text first.",
    "part_ids": " Screens: {list}.",
    "part_more": " and {count} more",
    # crypt: wipe
    "wipe_last_org": "You are the last organizer, so this number cannot be erased: nobody could run the line. "
                     "Make someone else an organizer first (ORGANIZER number), then WIPE.",
    # crypt: reports
    "report_full_gone": "Report #{id} is approved, but its full text is no longer kept. "
                        "To warn everyone, BROADCAST your own words.",
}

def _load_catalog() -> dict[str, dict[str, str]]:
    """English lives here; every other language is one file, smsline/catalog/<code>.py, holding TEXTS."""
    import importlib
    import pkgutil

    from . import catalog

    tables = {"en": EN}
    for mod in pkgutil.iter_modules(catalog.__path__):
        tables[mod.name] = importlib.import_module(f"{catalog.__name__}.{mod.name}").TEXTS
    return tables


CATALOG = _load_catalog()
LANGS = tuple(CATALOG)


class _Fields(dict):
    def __missing__(self, key):
        return ""


def keys() -> set[str]:
    return set(EN)


def limit_for(key: str) -> int:
    # Pieces (part_*) are shortened by the text they go into, so they get the long limit here.
    return LONG_LIMIT if key in LONG or key.startswith("part_") else REPLY_LIMIT


def render(key: str, lang: str = "en", **fields) -> str:
    """A finished text in GSM-7 that fits its limit, shortening free-text fields if it must."""
    table = CATALOG.get(lang) or EN
    template = table.get(key) or EN[key]
    limit = limit_for(key)
    values = _Fields({k: fold(str(v)) for k, v in fields.items()})
    text = template.format_map(values)  # _Fields: a missing field is empty
    # Shrink the longest free-text field until the text fits; fixed wording never changes.
    while septets(text) > limit:
        candidates = [k for k in values if k in SHRINKABLE or k.endswith("_part")]
        if not candidates:
            break
        longest = max(candidates, key=lambda k: len(values[k]))
        cur = values[longest]
        if len(cur) <= 3:
            break
        over = septets(text) - limit
        keep = max(0, len(cur) - over - 3)
        values[longest] = cur[:keep].rstrip() + "..."
        text = template.format_map(values)
    return text
