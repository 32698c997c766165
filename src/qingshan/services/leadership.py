"""One active set of background workers per database, however many ``serve`` processes run.

Several ``qingshan serve`` processes may share one database (gateways on several ports or
hosts, or restarted side by side). Their *leader-only duties* — the store-and-forward
forwarder, the roll-ups, the figures, the purges and the pollution-source alarm detection —
must run in exactly one of them at a time: two forwarders would send every packet upstream
twice, two alarm detectors would open cases twice.

* **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
  connection outside the pool. It is released by the server when that session ends — the
  process exits or is killed (``kill -9``: the kernel closes the socket, PostgreSQL ends the
  session at once) or the connection breaks. The leader checks its connection every
  ``check`` call; when the check fails it has lost the lock and stops its duties. Across hosts,
  a vanished host's session lasts until TCP gives up: set ``keepalives_idle`` etc. in the
  database URL (or ``tcp_keepalives_*`` on the server) to bound the take-over time.
* **SQLite** (one host by nature): an exclusive ``fcntl.flock`` on ``<database file>.leader``,
  released by the kernel when the holding process exits, however it exits. An in-memory
  database has a single process: it always leads.

Followers retry every few seconds (``qingshan serve`` checks every
``leader_check_seconds``), so a dead leader is replaced within that interval.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger("qingshan.leadership")

# pg_try_advisory_lock(bigint): "QINGSHAN" in ASCII, one key for the whole worker set.
LOCK_KEY = 0x5149_4E47_5348_414E


class Leadership:
    """Try to become (and stay) the leader of ``engine``'s database."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self.leading = False
        self._conn: Any = None  # PostgreSQL: the DB-API connection holding the lock
        self._file: int | None = None  # SQLite: the locked file's descriptor

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process leads (now or already)."""
        if self.leading:
            return self.check()
        try:
            got = self._acquire_pg() if self.backend == "postgresql" else self._acquire_file()
        except Exception as exc:  # database unreachable: not the leader, try again later
            log.warning("leadership: cannot try the lock: %s", exc)
            self._drop()
            got = False
        self.leading = got
        if got:
            log.info("leadership: this process now runs the forwarder, roll-ups and figures")
        return got

    def check(self) -> bool:
        """Still the leader? (PostgreSQL: the lock's session is alive.)"""
        if not self.leading:
            return False
        if self._conn is not None:
            try:
                cur = self._conn.cursor()
                # The session holds the lock as long as it lives; nobody else can unlock it.
                cur.execute("SELECT 1")
                held = cur.fetchone() is not None
                cur.close()
            except Exception as exc:
                log.warning("leadership lost: the lock's connection failed: %s", exc)
                held = False
            if not held:
                self._drop()
                self.leading = False
        return self.leading

    def release(self) -> None:
        if self._conn is not None and self.leading:
            with contextlib.suppress(Exception):
                cur = self._conn.cursor()
                cur.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                cur.close()
        self._drop()
        self.leading = False

    # ------------------------------------------------------------------ backends

    def _acquire_pg(self) -> bool:
        if self._conn is None:
            # A dedicated connection, never returned to the pool: the lock lives with it.
            cargs, ckw = self.engine.dialect.create_connect_args(self.engine.url)
            self._conn = self.engine.dialect.connect(*cargs, **ckw)
            self._conn.autocommit = True
        cur = self._conn.cursor()
        cur.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
        got = bool(cur.fetchone()[0])
        cur.close()
        return got

    def _acquire_file(self) -> bool:
        import fcntl

        path = self.engine.url.database
        if not path or path == ":memory:":
            return True  # one process owns an in-memory database
        if self._file is None:
            self._file = os.open(f"{path}.leader", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self._file, 0)
        os.write(self._file, f"{os.getpid()}\n".encode())
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.close(self._file)  # closing the descriptor releases the flock
            self._file = None
