"""The Line: what every part of smsline is handed (settings, Redis, the store, the transport, the queues).

bootstrap.build() makes one; nothing here knows how.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable
from zoneinfo import ZoneInfo

from redis import Redis

from . import config as config_mod
from .session import Timing
from .store import Store

# Alerts and replies go before everything else; bulk texts (broadcasts) last.
HIGH, DEFAULT, BULK = "smsline-high", "smsline-default", "smsline-bulk"
# Alert rounds handed to the second worker process, so an alarm wave uses both CPUs.
SEND = "smsline-send"
QUEUES = (HIGH, SEND, DEFAULT, BULK)


@dataclass
class Line:
    settings: config_mod.Settings
    redis: Redis
    store: Store
    transport: object
    queues: dict
    clock: object = time.time
    # What a text's fate says about its recipient (a refusal for good, a delivery): bootstrap wires
    # reachability.on_delivery here, so the senders below it need not import what sits above them.
    on_delivery: Callable | None = None

    @property
    def timing(self) -> Timing:
        s = self.settings
        return Timing(s.seconds_per_minute, s.reminder_minutes, s.grace_minutes, s.realert_minutes, s.max_rounds)

    @property
    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.settings.timezone)
        except Exception:
            return ZoneInfo("UTC")

    def now(self) -> float:
        return self.clock()

    def status_callback(self) -> str | None:
        url = self.settings.public_url
        return f"{url}/sms/status" if url and self.settings.twilio_configured else None
