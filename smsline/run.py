"""``python -m smsline.run``: the whole line on this machine (``make run``).

Reads ``.env``, starts the embedded Redis under ``var/`` when ``REDIS_URL`` is
unset, then runs every Procfile process under honcho. Ctrl-C or SIGTERM stops
the processes first and Redis last, so nothing loses its Redis while stopping.

Without a Twilio account it is a demo: a demo organizer number and a fast
clock, unless ``SMSLINE_ORGANIZERS`` or ``SMSLINE_SECONDS_PER_MINUTE`` say
otherwise, and the simulator page to text the line from.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

from dotenv import load_dotenv

from smsline import embedded_redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A whole check-in (START 1, 5 minutes' grace, an alert, a repeat) plays out in about half a minute.
DEMO_SECONDS_PER_MINUTE = "2"


def _twilio(env) -> bool:
    """A Twilio account is configured (as config.Settings.twilio_configured reads it)."""
    return bool((env.get("TWILIO_ACCOUNT_SID") or "").strip() and (env.get("TWILIO_AUTH_TOKEN") or "").strip())


def _gateway(env) -> bool:
    """Texts go to real phones: Twilio, or the Android gateway (as config reads SMSLINE_GATEWAYS)."""
    named = (env.get("SMSLINE_GATEWAYS") or "").lower()
    phone = "android" in named or (not named.strip() and bool((env.get("ANDROID_GATEWAY_URL") or "").strip()))
    return _twilio(env) or phone


def demo_defaults(env) -> list[str]:
    """Without a gateway (Twilio or a phone): a demo organizer and a fast clock where unset; say what was set."""
    if _gateway(env):
        return []
    from smsline.simulator import DEMO_ORGANIZER

    said = []
    if not env.get("HOST"):
        # Without Twilio no signature guards /sms and the simulator shows every text: this machine only.
        env["HOST"] = "127.0.0.1"
        said.append("listening on 127.0.0.1 only (HOST=0.0.0.0 opens /sms; the simulator page stays on this machine)")
    if not (env.get("SMSLINE_ORGANIZERS") or "").strip():
        env["SMSLINE_ORGANIZERS"] = DEMO_ORGANIZER
        said.append(f"demo organizer {DEMO_ORGANIZER} (set SMSLINE_ORGANIZERS for others)")
    if not (env.get("SMSLINE_SECONDS_PER_MINUTE") or "").strip():
        env["SMSLINE_SECONDS_PER_MINUTE"] = DEMO_SECONDS_PER_MINUTE
        said.append(f"fast clock, 1 minute = {DEMO_SECONDS_PER_MINUTE} s (SMSLINE_SECONDS_PER_MINUTE=60 is real time)")
    return said


def config_problem(env) -> str | None:
    """What keeps this configuration from starting (half a Twilio account, no public URL...), or None."""
    from smsline import config

    logging.disable(logging.WARNING)  # from_env's development-key warning: each process gives it
    try:
        config.validate(config.from_env(env))
    except RuntimeError as e:  # ConfigError, or no SMSLINE_SECRET_KEY with an account
        return str(e)
    finally:
        logging.disable(logging.NOTSET)
    return None


def main() -> int:
    """Start Redis if needed and the Procfile processes; return their exit code."""
    # The shell's environment wins over .env, as everywhere else in the line.
    load_dotenv(os.path.join(ROOT, ".env"), override=False)
    env = os.environ
    env.setdefault("PORT", "5000")
    # Procfile commands name `gunicorn` and `python`: they must be this venv's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    problem = config_problem(env)
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 2
    for note in demo_defaults(env):
        print(f"smsline: no Twilio account: {note}", flush=True)

    server = None
    if not env.get("REDIS_URL"):
        server = embedded_redis.start(embedded_redis.VAR_DIR)
        env["REDIS_URL"] = server.url
        print(f"smsline: embedded Redis at {server.url} (data in var/)", flush=True)
    try:
        return _run_procfile(env)
    finally:
        if server is not None:
            server.stop()


def _run_procfile(env) -> int:
    port = env["PORT"]
    if _gateway(env):
        print(f"smsline: listening on http://0.0.0.0:{port}", flush=True)
    elif env.get("SMSLINE_SIMULATOR", "1") == "0":
        print(f"smsline: listening on http://127.0.0.1:{port} (simulator off)", flush=True)
    else:
        print(f"smsline: open http://127.0.0.1:{port}/simulator", flush=True)

    # .env is already merged above; /dev/null keeps honcho from reading it
    # again with the opposite precedence (honcho lets .env override the shell).
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-f", os.path.join(ROOT, "Procfile"),
         "-d", ROOT, "--env", os.devnull],
        cwd=ROOT,
        env=env,
    )

    def forward(signum, frame):
        # honcho stops every process group on SIGTERM, SIGKILLs after 5 s.
        if honcho.poll() is None:
            honcho.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    # Ctrl-C at the terminal reaches honcho too (same process group): wait
    # for it to stop its processes instead of dying before them.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    return honcho.wait()


if __name__ == "__main__":
    sys.exit(main())
