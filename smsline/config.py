"""Settings: defaults, then the environment (and .env), then test overrides."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, fields, replace

log = logging.getLogger(__name__)

DEV_SECRET_KEY = "smsline-development-key-not-for-production"


def _int(name: str, default: int, env) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        log.warning("setting %s is not a whole number; using %s", name, default)
        return default


def _float(name: str, default: float, env) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        log.warning("setting %s is not a number; using %s", name, default)
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class Settings:
    """Every setting the line reads; names match the environment variables."""

    redis_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_url: str | None = None
    public_url: str | None = None
    organizers: tuple[str, ...] = ()
    network_name: str = "the line"
    default_region: str = "US"
    timezone: str = "UTC"
    seconds_per_minute: float = 60.0
    reminder_minutes: int = 10
    grace_minutes: int = 5
    realert_minutes: int = 10
    secret_key: str = DEV_SECRET_KEY
    secret_key_old: str | None = None  # the key before a rotation: still opens what it sealed
    send_rate: float = 1.0
    report_days: int = 365
    max_rounds: int = 6
    send_concurrency: int = 100
    simulator: bool = True
    # Not environment settings: bounds the line keeps.
    heartbeat_stale_seconds: float = 120.0
    twilio_timeout_seconds: float = 10.0
    extra: dict = field(default_factory=dict)

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def simulator_enabled(self) -> bool:
        return self.simulator and not self.twilio_configured

    def seconds(self, minutes: float) -> float:
        """Real seconds in `minutes` of the line's clock."""
        return minutes * self.seconds_per_minute


def from_env(env=None) -> Settings:
    """Build settings from the environment, reading a .env file first."""
    if env is None:
        from dotenv import load_dotenv

        load_dotenv(override=False)
        env = os.environ
    g = lambda name: (env.get(name) or "").strip() or None  # noqa: E731
    twilio_sid, twilio_token = g("TWILIO_ACCOUNT_SID"), g("TWILIO_AUTH_TOKEN")
    secret = g("SMSLINE_SECRET_KEY")
    if not secret:
        if twilio_sid and twilio_token:
            raise RuntimeError("SMSLINE_SECRET_KEY is required when a Twilio account is configured")
        log.warning("SMSLINE_SECRET_KEY is not set: using a development key")
        secret = DEV_SECRET_KEY
    organizers = tuple(p.strip() for p in (g("SMSLINE_ORGANIZERS") or "").split(",") if p.strip())
    return Settings(
        redis_url=g("REDIS_URL"),
        twilio_account_sid=twilio_sid,
        twilio_auth_token=twilio_token,
        twilio_from_number=g("TWILIO_FROM_NUMBER"),
        twilio_messaging_service_sid=g("TWILIO_MESSAGING_SERVICE_SID"),
        twilio_api_url=g("TWILIO_API_URL"),
        public_url=(g("SMSLINE_PUBLIC_URL") or "").rstrip("/") or None,
        organizers=organizers,
        network_name=g("SMSLINE_NETWORK_NAME") or Settings.network_name,
        default_region=(g("SMSLINE_DEFAULT_REGION") or "US").upper(),
        timezone=g("SMSLINE_TIMEZONE") or "UTC",
        seconds_per_minute=_float("SMSLINE_SECONDS_PER_MINUTE", 60.0, env),
        reminder_minutes=_int("SMSLINE_REMINDER_MINUTES", 10, env),
        grace_minutes=_int("SMSLINE_GRACE_MINUTES", 5, env),
        realert_minutes=max(1, _int("SMSLINE_REALERT_MINUTES", 10, env)),
        secret_key=secret,
        secret_key_old=g("SMSLINE_SECRET_KEY_OLD"),
        send_rate=_float("SMSLINE_SEND_RATE", 1.0, env),
        report_days=_int("SMSLINE_REPORT_DAYS", 365, env),
        max_rounds=max(1, _int("SMSLINE_MAX_ROUNDS", 6, env)),
        send_concurrency=max(1, _int("SMSLINE_SEND_CONCURRENCY", 100, env)),
        # The heartbeat beats every 10 s: anything under 30 s would call a healthy worker dead.
        heartbeat_stale_seconds=max(30.0, _float("SMSLINE_HEARTBEAT_STALE_SECONDS", 120.0, env)),
        simulator=(g("SMSLINE_SIMULATOR") or "1") != "0",
    )


def override(settings: Settings, mapping: dict | None) -> Settings:
    """Apply a test mapping (keys are Settings field names) on top of settings."""
    if not mapping:
        return settings
    names = {f.name for f in fields(Settings)}
    unknown = set(mapping) - names
    if unknown:
        raise KeyError(f"unknown settings: {sorted(unknown)}")
    return replace(settings, **mapping)
