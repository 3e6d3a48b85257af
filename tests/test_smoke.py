"""The entry points build from the environment alone, as the Procfile runs them."""
from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSLINE_", "TWILIO_", "REDIS_URL"))}
    env.update(extra)
    return env


def test_app_builds_from_environment_and_worker_imports():
    """create_app() with only environment variables, and worker.py importing cleanly, in a fresh interpreter."""
    code = (
        "import smsline, worker; app = smsline.create_app(); "
        "assert app.extensions['smsline'].settings.redis_url == 'redis://127.0.0.1:1/0'; "
        "assert callable(worker.main); print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=_env(REDIS_URL="redis://127.0.0.1:1/0"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


def test_procfile_names_web_and_worker_with_the_real_entry_points():
    procfile = open(os.path.join(ROOT, "Procfile")).read()
    assert re.search(r"^web: gunicorn .*'smsline:create_app\(\)'", procfile, re.M)
    assert re.search(r"^worker: python worker.py", procfile, re.M)
    importlib.import_module("worker")


def test_env_example_lists_every_setting():
    example = open(os.path.join(ROOT, ".env.example")).read()
    spec_names = ["REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                  "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_URL", "SMSLINE_PUBLIC_URL", "SMSLINE_ORGANIZERS",
                  "SMSLINE_NETWORK_NAME", "SMSLINE_DEFAULT_REGION", "SMSLINE_TIMEZONE", "SMSLINE_SECONDS_PER_MINUTE",
                  "SMSLINE_REMINDER_MINUTES", "SMSLINE_GRACE_MINUTES", "SMSLINE_REALERT_MINUTES",
                  "SMSLINE_SECRET_KEY", "SMSLINE_SEND_RATE", "SMSLINE_REPORT_DAYS", "SMSLINE_MAX_ROUNDS",
                  "SMSLINE_SEND_CONCURRENCY", "SMSLINE_SIMULATOR", "SMSLINE_HEARTBEAT_STALE_SECONDS",
                  "SMSLINE_CLOCK_EN", "SMSLINE_CLOCK_ES"]
    for name in spec_names:
        assert re.search(rf"^{name}=", example, re.M), name
    config_src = open(os.path.join(ROOT, "smsline", "config.py")).read()
    for name in spec_names:
        assert f'"{name}"' in config_src, name


def test_secret_key_required_with_a_twilio_account():
    from smsline import config

    import pytest

    with pytest.raises(RuntimeError):
        config.from_env({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"})
    assert config.from_env({}).secret_key == config.DEV_SECRET_KEY


def test_heartbeat_bound_comes_from_the_environment_and_never_under_the_beat():
    from smsline import config

    assert config.from_env({}).heartbeat_stale_seconds == 120.0
    assert config.from_env({"SMSLINE_HEARTBEAT_STALE_SECONDS": "45"}).heartbeat_stale_seconds == 45.0
    assert config.from_env({"SMSLINE_HEARTBEAT_STALE_SECONDS": "5"}).heartbeat_stale_seconds == 30.0
    assert config.from_env({"SMSLINE_HEARTBEAT_STALE_SECONDS": "soon"}).heartbeat_stale_seconds == 120.0
