"""The web process watches the workers: if no heartbeat comes, organizers are told once, and again on recovery.

It texts through the transport directly, since the queue is what is not moving.
"""
from __future__ import annotations

import logging
import threading

from . import messages

log = logging.getLogger(__name__)
CHECK_EVERY = 15


def check(line) -> str | None:
    """Compare the heartbeat with the outage flag; text organizers on a change. Returns 'down', 'up' or None."""
    beat = line.store.heartbeat()
    stale = beat is None or line.now() - beat > line.settings.heartbeat_stale_seconds
    if stale and beat is not None and line.store.note_outage(True):
        _tell_organizers(line, "line_down")
        return "down"
    if not stale and line.store.note_outage(False):
        _tell_organizers(line, "line_up")
        return "up"
    return None


def _tell_organizers(line, key: str) -> None:
    log.warning("worker heartbeat %s: telling organizers", "lost" if key == "line_down" else "back")
    for pid in line.store.organizers():
        person = line.store.person(pid)
        number = person.get("number")
        if not number or line.store.opted_out(number):
            continue
        body = messages.render(key, person.get("lang", "en"), network=line.settings.network_name)
        try:
            line.transport.send(number, body)
        except Exception:
            log.warning("could not tell an organizer about the line's state")


def start(line) -> threading.Thread:
    def loop():
        stop = threading.Event()
        while not stop.wait(CHECK_EVERY):
            try:
                check(line)
            except Exception:
                log.warning("health monitor could not check Redis; will retry")

    t = threading.Thread(target=loop, name="smsline-monitor", daemon=True)
    t.start()
    return t
