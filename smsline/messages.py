"""The catalog: every text the line sends, one table per language. render(key, lang, **fields)."""
from __future__ import annotations

from .gsm7 import fold, septets

REPLY_LIMIT = 160
LONG_LIMIT = 459

# Texts that may take up to three segments; every other key is one SMS.
LONG = {"alert", "alert_repeat", "alert_last", "sos", "ack_stale",
        "alert_note", "alert_repeat_note", "sos_note", "duress_note", "help", "help_more", "help_organizer",
        "help_buddy", "invite_member", "invite_buddy", "invite_organizer", "duress",
        # An organizer's overview (who has no buddy, which alarms are open) is worth up to three texts.
        "members_summary", "alerts_list",
        "report_forward", "broadcast", "rights",
        "invite_member_both", "invite_buddy_both", "invite_organizer_both", "sos_reminder"}

# Free-text fields that may be shortened to make a text fit.
SHRINKABLE = ("note", "list", "names", "alias", "member", "by", "name", "suggestion", "what")

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
    "status_none": "No timer is running. Text START 60 to begin one.{reach_part}",
    "status_running": "Timer on until {end_at}.{note_part}{reach_part}",
    "status_overdue": "Time is up. Alerts go out at {alert_at} unless you text OK.{reach_part}",
    "status_alerting": "Alerts went out at {alert_at}.{ack_part} Text OK when you are safe.{reach_part}",
    "reminder": "Reminder: your timer ends at {end_at}. Text OK if you are safe, or EXTEND 30 for more time.",
    "timeup": "Your time is up. Text OK now, or your buddies are alerted in {minutes} min.",
    "member_alerted": "Your buddies have been alerted. Text OK when you are safe.",
    "member_alerted_org": "You have no buddy, so organizers have been alerted. Text OK when you are safe.",
    # Alerts (to buddies and organizers)
    # Each alert says how to reach the member ({phone}, in full: the reader must call back). Without a note
    # it does not send anyone "where the note says": alert, alert_repeat, sos and duress each have a
    # *_note twin (at the end of the table) that the renderer picks when there is a note.
    "alert": "{network}: {member} has not checked in. Timer started {started_at}. "
             "First: call or text them now at {phone}. If no answer, keep trying and ask anyone who may know "
             "where they are. Reply ACK when you are on it.",
    "alert_repeat": "{network}: still no check-in from {member} (alert {round}, first at {alert_at}). "
                    "Timer started {started_at}. Call or text them now at {phone}. If no answer, keep trying and "
                    "ask anyone who may know where they are. Reply ACK when you are on it.",
    "alert_last": "{network}: LAST ALERT. {member} has not checked in since the alert at {alert_at}. "
                  "Timer started {started_at}.{note_part} Call them now at {phone}. No more repeats will be sent. "
                  "Please act now.",
    "sos": "{network}: {member} asked for help now ({alert_at}). First: call or text them at {phone}. "
           "If no answer, keep trying and ask anyone who may know where they are. Reply ACK when you are on it.",
    "ack_stale": "{network}: {member} has still not checked in since the alert at {alert_at}, "
                 "although {by} replied ACK. Timer started {started_at}.{note_part} "
                 "Please follow up: call them at {phone}.",
    "ack_member": "{by} got your alert and is on it.",
    "ack_others": "{by} is responding for {member}.",
    "ack_ok": "Thank you. You are on it for {names}; the others alerted were told.",
    "ack_already": "Thank you. Someone is already on it for: {names}.",
    "ack_none": "No alert is open for you right now.",
    "standdown": "{network}: {member} says they are safe. Stand down from the alert of {alert_at}. Thank you.",
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
    "duress": "{network}: {member} sent a silent alarm ({alert_at}) and may not be free to talk. Do not text "
              "about it. First: call {phone} with an everyday excuse. If no answer, keep trying and ask anyone "
              "who may know where they are. Reply ACK when you are on it.",
    "test_buddy": "{network}: TEST ONLY from {member}. Nothing is wrong. This checks that alerts reach you.",
    "test_sent": "Test sent to {names}. Ask them if it arrived.",
    "test_nobody": "You have no confirmed buddy to test. Add one: BUDDY number name",
    "wipe_confirm": "This erases everything kept about this number. Reply WIPE YES to confirm.",
    "wipe_done": "Everything kept about this number is erased.",
    "buddy_link_ended": "{name} is no longer your buddy.",
    # General
    "help": "{network}: In danger? Text SOS: your buddies are alerted at once. START 60 (where, who) starts a timer. OK ends it. EXTEND 30 adds time. SOS alerts now. "
            "STATUS. BUDDY number name, BUDDIES, UNBUDDY number. NAME alias. TEST checks your buddies.",
    "help_more": "More: RIGHTS (your rights card), REPORT what happened (warns others), CHECK number or plate, "
                 "LANG ES, WIPE erases your data. STOP ends all texts.",
    "help_organizer": "Organizer: ADD number alias, REMOVE number, ORGANIZER number, MEMBERS, ALERTS, BROADCAST text, "
                      "REPORTS, APPROVE id (SEND), REJECT id, CARD ES text.",
    "help_buddy": "{network}: you are a buddy. When an alert comes, reply ACK once you are on it. "
                  "YES or NO answers an invitation. STOP ends all texts.",
    "unknown": "Sorry, that was not understood. Text HELP for the commands. In danger? Text SOS.",
    "did_you_mean": "Did you mean: {suggestion}? Nothing was done. Text it again to do it.",
    "help_running": "Your timer runs until {end_at}. Text OK when you are safe; STOP does not end it. "
                    "SOS raises the alarm now.",
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
    "broadcast": "{network}: {note}",
    "broadcast_usage": "To text every member: BROADCAST and your message, at most {max} characters.",
    "broadcast_too_long": "That is {count} characters ({texts} texts). The most is {max}, so that with the line's name it fits "
                          "in 3 texts. Please shorten it.",
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
    # es: words as people write them, invitations in two languages, the clock
    "unknown_running": "Your timer is still running, until {end_at}. To end it, text OK on its own.",
    "did_you_mean_running": "Did you mean: {suggestion}? Nothing was done. Your timer still runs until {end_at}; "
                            "to end it, text OK on its own.",
    "duration_running": "Your timer runs until {end_at}. To add {minutes} min, text EXTEND {minutes}. "
                        "To end it, text OK on its own.",
    "duration_start": "To start a timer of {minutes} min, text START {minutes}. Nothing was started.",
    "clock_unclear": "{what} could be a length or a time of day, so nothing was started. "
                     "Text START {h}h{m} for {h} h {m} min, or START {h}:{m}pm for the time.",
    "start_unclear": "The time \"{what}\" was not understood, so nothing was started. "
                     "Write it like START 90, START 1h30 or START 11pm.",
    "extend_unclear": "The time \"{what}\" was not understood, so nothing was changed. "
                      "Write it like EXTEND 30, EXTEND 1h or EXTEND 1h30.",
    "clock_am": "am",
    "clock_pm": "pm",
    # organizers: visibility, reachability of buddies, fast clock
    "start_fast_clock": "This line runs a fast demo clock, so a time of day cannot be used. "
                        "Give minutes instead, e.g. START 30.",
    "buddy_lost": "{name} cannot get texts from {network} now, so your alerts would not reach them. "
                  "Check with them, or add a buddy: BUDDY number name",
    "buddy_back": "{name} can get texts from {network} again and will get your alerts.",
    "part_unreachable": " Cannot be reached: {names}.",
    "part_unreachable_mark": " (cannot be reached)",
    "members_summary": "Members: {count}.{flags_part}{list_part}",
    "part_no_buddy": " No confirmed buddy: {list}.",
    "part_buddy_unreachable": " A buddy cannot be reached: {list}.",
    "part_all_covered": " Each has a buddy who can be reached.",
    "part_all": " All: {list}.",
    "part_org": " (org)",
    "alerts_none": "No alerts are open right now.",
    "alerts_list": "Open alerts: {count}.{list}",
    "part_open_acked": " {member} {number}: alerted {alert_at}, {minutes} min ago. ACK by {by}.",
    "part_open_waiting": " {member} {number}: alerted {alert_at}, {minutes} min ago. No ACK yet.",
    "part_open_silent": " Silent alarm: do not text them first.",
    "part_unreachable_many": " {count} of your buddies cannot be reached: see BUDDIES.",
    # edges: alerts that follow what is true (a note or none; buddies, organizers or nobody), REMOVE mid-timer
    "alert_note": "{network}: {member} has not checked in. Timer started {started_at}.{note_part} "
                  "First: call or text them now at {phone}. If no answer, go or send someone; the note may say "
                  "where. Reply ACK when you are on it.",
    "alert_repeat_note": "{network}: still no check-in from {member} (alert {round}, first at {alert_at}). "
                         "Timer started {started_at}.{note_part} Call or text them now at {phone}. If no answer, "
                         "go or send someone; the note may say where. Reply ACK when you are on it.",
    "sos_note": "{network}: {member} asked for help now ({alert_at}).{note_part} First: call or text them at "
                "{phone}. If no answer, go or send someone; the note may say where. Reply ACK when you are on it.",
    "duress_note": "{network}: {member} sent a silent alarm ({alert_at}) and may not be free to talk. Do not text "
                   "about it.{note_part} First: call {phone} with an everyday excuse. If no answer, go or send "
                   "someone; the note may say where. Reply ACK when you are on it.",
    "ack_ok_alone": "Thank you. You are on it for {names}.",
    "start_nobody": "You have no confirmed buddy and no other organizer, so nobody would be alerted. "
                    "Add one: BUDDY number name",
    "timeup_org": "Your time is up. Text OK now, or organizers are alerted in {minutes} min.",
    "timeup_nobody": "Your time is up. Text OK now. You have no buddy and no other organizer to alert.",
    "member_alerted_nobody": "Nobody could be alerted: you have no buddy and no other organizer. "
                             "Add one: BUDDY number name",
    "alert_undelivered_alone": "Your alert could not reach {names}, and there is no organizer to pass it to. "
                               "Call someone you trust if you can.",
    "remove_running": "{number} has a timer running until {end_at}, so they stay a member for now. "
                      "Try REMOVE again after it ends.",
    "remove_alerting": "{number} has an open alarm: alerts are out or about to go out. They stay a member "
                       "for now. Try REMOVE again after they text OK.",
    # android: gateways and failover
    "gateway_down": "{network}: {gateway} cannot send the line's texts now. They go out through {backup}: members may get them from that number.",
    "gateway_down_alone": "{network}: {gateway} cannot send the line's texts now. Alerts are retried until it takes them; check it.",
    "gateway_up": "{network}: {gateway} sends the line's texts again.",
    # abuse: one invitation per pending request, repeated SOS, floods
    "invite_waiting": "An invitation to {number} is already waiting for a reply. It lapses in {count} day(s) "
                      "if unanswered.",
    "sos_reminder": "{network}: {member} still asks for help ({alert_at}).{note_part} "
                    "Call or text them now. Reply ACK when you are on it.",
    "slow_down": "Too many texts in a minute: please wait a little. OK and SOS always work.",
    # crypt: wipe
    "wipe_last_org": "You are the last organizer, so this number cannot be erased: nobody could run the line. "
                     "Make someone else an organizer first (ORGANIZER number), then WIPE.",
    # crypt: reports
    "report_full_gone": "Report #{id} is approved, but its full text is no longer kept. "
                        "To warn everyone, BROADCAST your own words.",
    # fixa: alarm-time talk
    "alarm_talk": "Alerts went out at {alert_at}.{ack_part} We passed your text on to them. "
                  "Text OK when you are safe.",
    "relay": "{network}: text from {member}'s phone: {what}",
    "alert_summary": "{list} Reply ACK if you are on it.",
    "alert_summary_mine": "{list} You replied ACK: thank you.",
    "part_summary_missed": "{member} {phone} missed a check-in at {alert_at}.",
    "part_summary_sos": "{member} {phone} asked for help at {alert_at}.",
    "part_summary_silent": "{member} {phone} sent a silent alarm at {alert_at}: do not text them first.",
    "part_summary_acked": " {by} is on it.",
    "part_an_organizer": "An organizer",
    "stranger_sos": "This number answers invited people only. If you are in danger, call someone you trust "
                    "or your local emergency number.",
    "contact_sos": "Only members can raise an alarm on this line. If you are in danger, call someone you trust "
                   "or your local emergency number.",
    # fixb: trial fixes
    "remind_member": "{network}: you are invited to a check-in line. Reply JOIN to accept, or ignore this.",
    "remind_buddy": "{network}: {member} invited you to get a text if they miss a check-in. Reply YES to accept "
                    "or NO to decline.",
    "remind_organizer": "{network}: you are invited to help run this line as an organizer. Reply YES to accept, "
                        "or ignore this.",
    "remind_many": "{network}: {count} invitations wait for you: {list}. Reply YES and a number to accept "
                   "(YES 1), or NO and a number to decline.",
    "invite_cancelled": "Invitation to {number} cancelled. No text is sent to them about it.",
}
# fixa: alarm-time talk. A member's words passed on, and the summary of open alerts, may take three texts.
LONG |= {"relay", "alert_summary", "alert_summary_mine"}

# Texts to someone whose language is not known yet: both languages in one text, the same in every table.
BILINGUAL = {
    "invite_member_both": "{network}: you are invited to a check-in line. Reply JOIN to accept, or ignore this. "
                          "/ Te invitan a una linea para avisar que todo va bien. Responde UNIRME para aceptar, "
                          "o ignora este mensaje. / STOP: no more texts, no mas mensajes.",
    "invite_buddy_both": "{network}: {member} asks you to be their check-in buddy: if they miss a check-in, you "
                         "get a text. Reply YES to accept or NO to decline. / {member} te pide ser su contacto de "
                         "confianza: si no se reporta a tiempo, te llega un mensaje. Responde SI para aceptar o "
                         "NO para decir que no.",
    "invite_organizer_both": "{network}: you are invited to help run this line as an organizer. Reply YES to "
                             "accept, or ignore this. / Te invitan a ayudar a llevar esta linea en el equipo "
                             "organizador. Responde SI para aceptar, o ignora este mensaje.",
    "remind_member_both": "{network}: you are invited to a check-in line. Reply JOIN to accept. / Te invitan a "
                          "esta linea. Responde UNIRME para aceptar.",
    "remind_buddy_both": "{network}: {member} invited you to get a text if they miss a check-in. Reply YES or NO. "
                         "/ {member} te pide ser su contacto. Responde SI o NO.",
    "remind_organizer_both": "{network}: you are invited to help run this line. Reply YES to accept. / Te invitan "
                             "al equipo organizador. Responde SI para aceptar.",
    "remind_many_both": "{network}: {count} invitations: {list}. Reply YES 1 or NO 1. / {count} invitaciones. "
                        "Responde SI 1 o NO 1.",
}
EN.update(BILINGUAL)

def _load_catalog() -> dict[str, dict[str, str]]:
    """English lives here; every other language is one file, smsline/catalog/<code>.py, holding TEXTS."""
    import importlib
    import pkgutil

    from . import catalog

    tables = {"en": EN}
    for mod in pkgutil.iter_modules(catalog.__path__):
        tables[mod.name] = {**importlib.import_module(f"{catalog.__name__}.{mod.name}").TEXTS, **BILINGUAL}
    return tables


CATALOG = _load_catalog()
LANGS = tuple(CATALOG)


class _Fields(dict):
    def __missing__(self, key):
        return ""


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
