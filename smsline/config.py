"""Settings: defaults, then the environment (and .env), then test overrides."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields, replace
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEV_SECRET_KEY = "smsline-development-key-not-for-production"
GATEWAYS = ("twilio", "android")
# Texts a second handed to the phone for bulk texts: carriers allow about 30 to 200 an hour per SIM.
ANDROID_RATE = 0.05
ANDROID_REQUIRED = ("ANDROID_GATEWAY_URL", "ANDROID_GATEWAY_USER", "ANDROID_GATEWAY_PASSWORD",
                    "ANDROID_GATEWAY_SIGNING_KEY")


def _int(name: str, default: int, env) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        log.warning("setting %s is not a whole number; using %s", name, default)
        return default


def _clock(name: str, env) -> int:
    raw = (env.get(name) or "").strip().lower().removesuffix("h")
    if raw in ("12", "24"):
        return int(raw)
    if raw:
        log.warning("setting %s must be 12 or 24; using 12", name)
    return 12


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
    network_name: str = "Lumi"  # a name in no language, so it reads the same in English and Spanish texts
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
    # 12 or 24: how times are written in each language's texts ("5:12 pm" or "17:12").
    clock_en: int = 12
    clock_es: int = 12
    gateways: tuple[str, ...] = ()  # ordered, with failover: "twilio", "android"
    android_gateway_url: str | None = None
    android_gateway_user: str | None = None
    android_gateway_password: str | None = None
    android_gateway_signing_key: str | None = None
    android_gateway_rate: float = ANDROID_RATE
    # Not environment settings: bounds the line keeps.
    heartbeat_stale_seconds: float = 120.0
    twilio_timeout_seconds: float = 10.0

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def android_configured(self) -> bool:
        return "android" in self.gateways

    @property
    def simulator_enabled(self) -> bool:
        return self.simulator and not self.twilio_configured and not self.android_configured

    def gateway_rate(self, name: str) -> float:
        """Texts (Twilio: segments) a second handed to this gateway for bulk texts."""
        return self.android_gateway_rate if name == "android" else self.send_rate

    def clock(self, lang: str) -> int:
        """12 or 24: the clock times are written with in this language's texts."""
        return getattr(self, f"clock_{lang}", 12)

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
    gateways = _gateways(g, bool(twilio_sid and twilio_token))
    secret = g("SMSLINE_SECRET_KEY")
    if not secret:
        if twilio_sid and twilio_token:
            raise RuntimeError("SMSLINE_SECRET_KEY is required when a Twilio account is configured")
        if "android" in gateways:
            raise RuntimeError("SMSLINE_SECRET_KEY is required with the Android gateway")
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
        clock_en=_clock("SMSLINE_CLOCK_EN", env),
        clock_es=_clock("SMSLINE_CLOCK_ES", env),
        gateways=gateways,
        android_gateway_url=(g("ANDROID_GATEWAY_URL") or "").rstrip("/") or None,
        android_gateway_user=g("ANDROID_GATEWAY_USER"),
        android_gateway_password=g("ANDROID_GATEWAY_PASSWORD"),
        android_gateway_signing_key=g("ANDROID_GATEWAY_SIGNING_KEY"),
        android_gateway_rate=_float("ANDROID_GATEWAY_RATE", ANDROID_RATE, env),
    )


def _gateways(g, twilio: bool) -> tuple[str, ...]:
    """SMSLINE_GATEWAYS, checked: known names, no repeats, and each one configured."""
    raw = g("SMSLINE_GATEWAYS")
    if raw is None:
        # As before: Twilio when it is configured; a phone alone when only the phone is.
        raw = "twilio" if twilio else "android" if g("ANDROID_GATEWAY_URL") else ""
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in GATEWAYS]
    if unknown or len(set(names)) != len(names):
        raise RuntimeError(f"SMSLINE_GATEWAYS must list twilio and/or android, each once, in order (got {raw!r})")
    if "twilio" in names and not twilio:
        raise RuntimeError("SMSLINE_GATEWAYS names twilio, but TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")
    missing = [name for name in ANDROID_REQUIRED if not g(name)]
    if "android" in names and missing:
        raise RuntimeError(f"the Android gateway needs {', '.join(ANDROID_REQUIRED)}: {', '.join(missing)} "
                           f"{'is' if len(missing) == 1 else 'are'} not set")
    return names
class ConfigError(RuntimeError):
    """Settings that would run an open or broken line; the message says what to set."""


def validate(settings: Settings) -> Settings:
    """Refuse settings that open a door or can send nothing: half a Twilio account, no public URL, no sender.

    Both entry points reach it through bootstrap.build, after any test mapping; `make run` asks first.
    """
    problems = []
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    if bool(sid) != bool(token):
        have, missing = ("TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID") if token else (
            "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
        problems.append(f"{have} is set but {missing} is not: set both to use Twilio, or neither for the local "
                        "simulator (half an account would leave /sms unsigned or unable to send)")
    if sid and token:
        url = urlsplit(settings.public_url or "")
        if not settings.public_url:
            problems.append("SMSLINE_PUBLIC_URL is required with a Twilio account: the base URL Twilio calls, "
                            "e.g. https://line.example.org; webhook signatures are checked against it, never "
                            "against the Host header a client sends")
        elif url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
            problems.append("SMSLINE_PUBLIC_URL must be the absolute http(s) base URL Twilio calls, "
                            "e.g. https://line.example.org (no query)")
        if not (settings.twilio_from_number or settings.twilio_messaging_service_sid):
            problems.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required with a Twilio account: "
                            "without a sender no text, and no alert, can go out")
    if problems:
        raise ConfigError("smsline cannot start: " + "; ".join(problems))
    return settings


def override(settings: Settings, mapping: dict | None) -> Settings:
    """Apply a test mapping (keys are Settings field names) on top of settings."""
    if not mapping:
        return settings
    names = {f.name for f in fields(Settings)}
    unknown = set(mapping) - names
    if unknown:
        raise KeyError(f"unknown settings: {sorted(unknown)}")
    return replace(settings, **mapping)
