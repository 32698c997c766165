"""The web app of ``qingshan serve`` (and ``qingshan demo``) in a process of its own.

Web work holds the interpreter: formatting a year of hourly data as xlsx, a report, forty
log-ins hashing at once. Run in the gateway's process it competed with the event loop and the
commit thread for CPython's GIL, and a good device's acknowledgements went from 15 ms to over
a second under heavy web use (tests/hostile/test_web_work.py). So the gateway process only
binds the HTTP socket and starts ``qingshan web`` on it as a child process; the kernel
schedules the two apart, and nothing in the web app can hold the gateway's loop.

* **The socket is bound here** (port 0 works, an address in use fails ``serve`` at once with
  the usual message) and handed to the child as an inherited file descriptor
  (``qingshan web --socket-fd``); while a child restarts, connections wait in the socket's
  backlog instead of being refused.
* **Settings**: the child gets every field of this process's settings as ``QINGSHAN_*``
  environment variables (command-line overrides included), so both read the same database
  with the same limits.
* **Health**: the web app's ``/healthz`` reports the gateway's counters. They are read from
  this process over a Unix socket in a private directory (mode 0700), so only processes of
  the same user can ask, and ``/healthz`` keeps showing the limits to operators only.
* **Lifetime**: the child's standard input is a pipe from this process; when this process
  ends, however it ends (``kill -9`` too), the pipe closes and the child stops itself. A
  child that dies on its own is started again (back-off up to 30 s), on the same socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from qingshan.settings import Settings

log = logging.getLogger("qingshan.web_process")

#: Seconds the child may take to answer its first request (imports take seconds on a busy host).
START_TIMEOUT = 120.0
#: Seconds the child has to finish its requests on shutdown before it is killed.
STOP_TIMEOUT = 10.0
MAX_BACKOFF = 30.0


def bind_http_socket(host: str, port: int) -> socket.socket:
    """The web app's listening socket (raises :class:`OSError`: address in use …)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by accepted connections (Linux): small answers are not held back by Nagle's
    # algorithm waiting for the client's delayed ACK (a 40 ms floor per keep-alive request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def child_env(settings: Settings, status_socket: str) -> dict[str, str]:
    """This process's environment with every setting spelt out as ``QINGSHAN_*``."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        key = f"QINGSHAN_{name.upper()}"
        if value is None:
            env.pop(key, None)
        elif isinstance(value, bool):
            env[key] = "true" if value else "false"
        else:
            env[key] = str(value)
    env["QINGSHAN_WEB_STATUS_SOCKET"] = status_socket
    return env


class _Forked:
    """A child made by :meth:`WebProcess.fork`, with what this module uses of
    :class:`asyncio.subprocess.Process` (asyncio does not watch a pid it did not start)."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self._pipe: int | None = pipe  # the write end; the child stops when it closes
        self._code: int | None = None

    @property
    def returncode(self) -> int | None:
        if self._code is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self._code = os.waitstatus_to_exitcode(status)
                self.close()
        return self._code

    async def wait(self) -> int:
        while (code := self.returncode) is None:
            await asyncio.sleep(0.2)
        return code

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None


class WebProcessFailed(OSError):
    """The web process exited or did not answer while starting."""


class WebProcess:
    """Starts, watches and stops the ``qingshan web`` child serving on ``sock``."""

    def __init__(self, settings: Settings, sock: socket.socket) -> None:
        self.settings = settings
        self.sock = sock
        self.port = int(sock.getsockname()[1])
        self._dir = tempfile.mkdtemp(prefix="qingshan-web-")  # 0700: this user only
        self.status_socket = str(Path(self._dir) / "status.sock")
        self._proc: asyncio.subprocess.Process | _Forked | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False
        self._started = 0.0
        self.restarts = 0
        self.forked = False

    def fork(self, in_child: Callable[[], None]) -> bool:
        """Start the child now by ``fork()``, with the web app's modules already imported
        here: it serves in a fraction of a second instead of the ~3 s a new interpreter takes
        to import them (every ``serve`` start, and the test suite starts dozens). Only while
        this process has no other thread (a fork copies just the calling thread, and a lock
        another thread held would stay locked in the child); else False, and :meth:`start`
        spawns ``qingshan web`` instead, as it does for every restart. ``in_child`` runs first
        in the child: it must drop what the parent's connections hold without closing them
        (``engine.dispose(close=False)``)."""
        if threading.active_count() > 1 or self._proc is not None:
            return False
        from qingshan.web import worker  # imported before the fork: that is the point

        env = child_env(self.settings, self.status_socket)
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: serves until the parent ends or sends SIGTERM, never returns
            code = 1
            try:
                os.close(write_end)
                os.setsid()  # its own process group, as the spawned child (start_new_session)
                in_child()
                os.environ.clear()
                os.environ.update(env)
                worker.serve_socket(self.settings, self.sock, self.settings.web_workers, read_end)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(read_end)
        self._proc = _Forked(pid, write_end)
        self._started = time.monotonic()
        self.forked = True
        return True

    async def start(self) -> None:
        """Start the child (unless :meth:`fork` did) and wait until it answers
        ``GET /healthz`` (raises :class:`WebProcessFailed` when it exits first or does not
        answer in time)."""
        if self._proc is None:
            await self._spawn()
        await self._until_serving()
        self._watch = asyncio.create_task(self._supervise(), name="web-process")

    async def _spawn(self) -> None:
        self._started = time.monotonic()
        fd = self.sock.fileno()
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "qingshan.cli.main",
            "web",
            "--socket-fd",
            str(fd),
            "--exit-on-stdin-eof",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            env=child_env(self.settings, self.status_socket),
            pass_fds=(fd,),
            # Its own process group: Ctrl-C in a terminal reaches serve only, which stops the
            # child in order (a child stopped by the same SIGINT would look like a crash).
            start_new_session=True,
        )

    async def _until_serving(self) -> None:
        host = self.settings.http_host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self._proc is not None
            if self._proc.returncode is not None:
                code = self._proc.returncode
                raise WebProcessFailed(f"the web process exited with code {code} (its log above)")
            if await _answers(host, self.port):
                return
            if time.monotonic() > deadline:
                raise WebProcessFailed(f"the web process did not answer in {START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.1)

    async def _supervise(self) -> None:
        backoff = 1.0
        while True:
            assert self._proc is not None
            code = await self._proc.wait()
            if self._stopping:
                return
            log.error("the web process exited with code %s; starting it again", code)
            # A child that ran for a while earns a quick restart again.
            ran = time.monotonic() - self._started
            backoff = 1.0 if ran > 60 else backoff
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            try:
                await self._spawn()
                self.restarts += 1
            except OSError as exc:
                log.error("cannot start the web process: %s", exc)

    async def stop(self) -> None:
        """SIGTERM (the child finishes its requests), then SIGKILL after ``STOP_TIMEOUT``."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if isinstance(proc, _Forked):
            proc.close()
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        self.sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)


async def _answers(host: str, port: int) -> bool:
    """Whether an HTTP request to ``/healthz`` gets a status line within 2 s."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 2.0)
        return line.startswith(b"HTTP/")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
