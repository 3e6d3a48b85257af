"""Real-process harness: a whole line (Redis, the Procfile's processes and a
Twilio stand-in, tests/standin.py), for tests of timing, crashes and restarts.

In a pytest module, import the fixture and ask it for lines::

    from tests.lineprocs import line_factory  # noqa: F401  (pytest fixture)

    def test_alarm_reaches_the_buddy(line_factory):
        line = line_factory(seconds_per_minute=0.05, organizers=["+15005550100"])
        status, twiml = line.text("+15005550100", "HELP")
        assert status == 200
        line.twilio.wait_for(lambda m: m.to == "+15005550101", timeout=10)

Each line gets its own temporary directory (Redis data, one log per process),
its own free ports and its own ``TwilioStandIn`` (``line.twilio``); all of it
is stopped when the test ends, and the logs' tails are printed, which pytest
shows when the test fails. Without pytest, ``running_line(...)`` is the same
as a context manager.

Line(...) keyword arguments: ``seconds_per_minute`` (SMSLINE_SECONDS_PER_MINUTE,
default 1), ``organizers`` (list or comma-separated string), ``env`` (extra
environment; a value of None removes the variable), ``twilio`` (a stand-in to
share, else one is made), ``wait_healthy`` (wait for GET /healthz == 200),
``processes`` (Procfile entries to start; default all), ``procfile`` and
``cwd`` (for harness tests with a fake app).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Iterable, Mapping

import redis
import requests

from smsline import embedded_redis
from tests.signing import API_VERSION, TEST_FROM_NUMBER, TEST_SECRET_KEY, free_port, new_sid, sign
from tests.standin import TwilioStandIn, _segments

try:
    import pytest
except ImportError:  # the helpers work without pytest; only the fixture needs it
    pytest = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
if not os.path.isdir(VENV_BIN):
    VENV_BIN = os.path.dirname(sys.executable)

HEALTHY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0  # gunicorn's graceful timeout plus RQ's warm shutdown


def procfile_commands(path: str = os.path.join(ROOT, "Procfile")) -> dict[str, str]:
    """The Procfile's entries, name -> command, in file order."""
    commands: dict[str, str] = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, command = line.partition(":")
            commands[name.strip()] = command.strip()
    return commands


class LineError(RuntimeError):
    """A line's processes did not start, or did not become healthy."""



# --------------------------------------------------------------------------
# Processes.


class Proc:
    """One Procfile command running in its own process group."""

    def __init__(self, name: str, command: str, env: dict, cwd: str, log_path: str):
        self.name = name
        self.command = command
        self.log_path = log_path
        self.expected_exit = False  # set when the harness signals it on purpose
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                ["bash", "-c", command],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal to the group reaches gunicorn's workers and RQ's horses
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def signal(self, sig: int = signal.SIGTERM, group: bool = True) -> None:
        """Send ``sig`` to the process group (default) or the leader only."""
        if sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGQUIT):
            self.expected_exit = True
        try:
            if group:
                os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM the group, wait, SIGKILL whatever is left of it."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.signal(signal.SIGKILL)  # leftovers: the leader, or children that outlived it
        return self.popen.wait(5)

    def tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.returncode}"
        return f"<Proc {self.name} pid={self.pid} {state}>"


class Line:
    """A whole line on this machine: embedded Redis, the Procfile's processes
    and a Twilio stand-in, wired together by environment variables."""

    def __init__(
        self,
        workdir: str,
        *,
        seconds_per_minute: float = 1.0,
        organizers: Iterable[str] | str = (),
        env: Mapping[str, str | None] | None = None,
        twilio: TwilioStandIn | None = None,
        wait_healthy: bool = True,
        healthy_timeout: float = HEALTHY_TIMEOUT,
        processes: Iterable[str] | None = None,
        procfile: str = os.path.join(ROOT, "Procfile"),
        cwd: str = ROOT,
    ):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.commands = procfile_commands(procfile)
        self.process_names = list(processes) if processes is not None else list(self.commands)
        self.cwd = cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._owns_twilio = twilio is None
        self.twilio = twilio or TwilioStandIn()
        self.auth_token = self.twilio.auth_token
        if not isinstance(organizers, str):
            organizers = ",".join(organizers)
        self._organizers = organizers
        self._seconds_per_minute = seconds_per_minute
        self._extra_env = dict(env or {})
        self._wait_healthy = wait_healthy
        self._healthy_timeout = healthy_timeout
        self.redis: embedded_redis.EmbeddedRedis | None = None
        self.procs: list[Proc] = []
        self.env: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._stopped = False
        # One HTTP session per thread: race tests text the line from several.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []

    # -- lifecycle --------------------------------------------------------

    def start(self) -> "Line":
        """Start Redis and every process; wait for /healthz unless told not to."""
        try:
            self.redis = embedded_redis.start(os.path.join(self.workdir, "redis"))
            self.env = self._environment()
            for name in self.process_names:
                self.start_process(name)
            if self._wait_healthy:
                self.wait_healthy(self._healthy_timeout)
        except BaseException:
            self.stop()  # a LineError already carries the logs' tails
            raise
        return self

    def _environment(self) -> dict[str, str]:
        # Nothing from the developer's shell may reconfigure the line under test.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SMSLINE_", "TWILIO_")) and k not in ("REDIS_URL", "PORT")
        }
        env.update(
            PATH=VENV_BIN + os.pathsep + env.get("PATH", ""),
            VIRTUAL_ENV=os.path.dirname(VENV_BIN),
            PYTHONUNBUFFERED="1",
            REDIS_URL=self.redis.url,
            PORT=str(self.port),
            TWILIO_ACCOUNT_SID=self.twilio.account_sid,
            TWILIO_AUTH_TOKEN=self.twilio.auth_token,
            TWILIO_FROM_NUMBER=TEST_FROM_NUMBER,
            TWILIO_API_URL=self.twilio.url,
            SMSLINE_PUBLIC_URL=self.url,
            SMSLINE_SECONDS_PER_MINUTE=str(self._seconds_per_minute),
            SMSLINE_ORGANIZERS=self._organizers,
            SMSLINE_SECRET_KEY=TEST_SECRET_KEY,
        )
        for key, value in self._extra_env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    def start_process(self, name: str) -> Proc:
        """Start one more copy of Procfile entry ``name``."""
        n = sum(1 for p in self.procs if p.name == name) + 1
        log_path = os.path.join(self.workdir, f"{name}.log" if n == 1 else f"{name}-{n}.log")
        proc = Proc(name, self.commands[name], self.env, self.cwd, log_path)
        self.procs.append(proc)
        return proc

    def start_worker(self) -> Proc:
        """Start another worker process (the first, or one more)."""
        return self.start_process("worker")

    def workers(self, alive: bool = True) -> list[Proc]:
        return [p for p in self.procs if p.name == "worker" and (p.alive() or not alive)]

    def kill_worker(
        self,
        sig: int = signal.SIGKILL,
        worker: Proc | None = None,
        group: bool = True,
        wait: bool = True,
        timeout: float = STOP_TIMEOUT,
    ) -> Proc:
        """Signal a worker (default: the oldest still running) and its whole
        process group, as a crashed or stopped machine would; wait for it."""
        if worker is None:
            running = self.workers()
            if not running:
                raise LineError("no worker is running")
            worker = running[0]
        worker.signal(sig, group=group)
        if wait:
            worker.wait(timeout)
        return worker

    def stop_redis(self, kill: bool = False) -> None:
        """Take Redis down (SIGKILL with ``kill=True``); data stays on disk."""
        self.redis.stop(kill=kill)

    def start_redis(self) -> None:
        """Bring Redis back on the same port and data."""
        self.redis = embedded_redis.start(self.redis.var_dir, port=self.redis.port)

    def restart_redis(self, down_for: float = 0.0, kill: bool = False) -> None:
        """Stop Redis, stay down ``down_for`` seconds, start it again as it was."""
        self.redis = self.redis.restart(down_for=down_for, kill=kill)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every process group, wait, kill leftovers, stop Redis."""
        if self._stopped:
            return
        self._stopped = True
        for proc in self.procs:
            proc.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs:
            proc.signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        if self.redis is not None:
            self.redis.stop()
        if self._owns_twilio:
            self.twilio.close()
        for session in self._sessions:
            session.close()

    def __enter__(self) -> "Line":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def _http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            self._sessions.append(session)
        return session

    # -- waiting and inspecting -----------------------------------------

    def wait_healthy(self, timeout: float = HEALTHY_TIMEOUT) -> requests.Response:
        """Wait until GET /healthz answers 200; fail early if a process dies."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            dead = [p for p in self.procs if not p.alive() and not p.expected_exit]
            if dead:
                raise LineError(f"{dead} exited before the line was healthy\n{self.logs()}")
            try:
                response = self._http.get(self.url + "/healthz", timeout=2)
                if response.status_code == 200:
                    return response
                last = f"{response.status_code} {response.text[:200]!r}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            if time.monotonic() > deadline:
                raise LineError(f"/healthz not 200 within {timeout:g}s (last: {last})\n{self.logs()}")
            time.sleep(0.1)

    def redis_client(self, **kwargs) -> redis.Redis:
        """A client on the line's Redis (caller closes it)."""
        return self.redis.client(**kwargs)

    def logs(self, lines: int = 40) -> str:
        """Tails of every process's log and of Redis's."""
        parts = [f"--- {p.name} (pid {p.pid}, {os.path.basename(p.log_path)}) ---\n{p.tail(lines)}" for p in self.procs]
        if self.redis is not None:
            parts.append(f"--- redis ---\n{embedded_redis._tail(self.redis.log_path, lines)}")
        return "\n".join(parts)

    # -- HTTP -------------------------------------------------------------

    def text(
        self,
        from_number: str,
        body: str,
        sid: str | None = None,
        to: str = TEST_FROM_NUMBER,
    ) -> tuple[int, str]:
        """Deliver an inbound SMS the way Twilio does: a signed POST to /sms.
        Returns the HTTP status and the body (TwiML)."""
        sid = sid or new_sid("SM")
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": body,
            "FromCountry": "US",
            "To": to,
            "NumSegments": str(_segments(body)),
            "MessageSid": sid,
            "AccountSid": self.twilio.account_sid,
            "From": from_number,
            "ApiVersion": API_VERSION,
        }
        url = self.url + "/sms"
        headers = {"X-Twilio-Signature": sign(self.auth_token, url, params)}
        try:
            response = self._http.post(url, data=params, headers=headers, timeout=20)
        except requests.ConnectionError:
            # A kept-alive connection the server closed just as we reused it: deliver again with the
            # same MessageSid, as Twilio does; the line acts on a MessageSid once.
            response = self._http.post(url, data=params, headers=headers, timeout=20)
        return response.status_code, response.text

    def post_raw(
        self, path: str, data: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        """POST exactly this form and these headers (no signature added)."""
        return self._http.post(self.url + path, data=dict(data or {}), headers=dict(headers or {}), timeout=20)

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 20)
        return self._http.get(self.url + path, **kwargs)


@contextlib.contextmanager
def running_line(workdir: str | None = None, **kwargs):
    """A started Line for a ``with`` block; stopped (and logs printed) after."""
    workdir = workdir or tempfile.mkdtemp(prefix="smsline-line-")
    line = Line(workdir, **kwargs).start()
    try:
        yield line
    finally:
        line.stop()


if pytest is not None:

    @pytest.fixture
    def line_factory(tmp_path_factory):
        """Make started lines: ``line_factory(**Line kwargs) -> Line``; all are
        stopped at teardown, and their logs printed (shown if the test failed)."""
        lines: list[Line] = []

        def make(**kwargs) -> Line:
            line = Line(str(tmp_path_factory.mktemp("line")), **kwargs)
            lines.append(line)
            return line.start()

        yield make
        for line in lines:
            line.stop()
            print(line.logs())
