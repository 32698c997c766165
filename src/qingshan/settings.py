"""The one settings object.

Every option can be given, in increasing priority, by a TOML config file
(``qingshan.toml`` in the working directory, or the file named by ``QINGSHAN_CONFIG``),
by ``QINGSHAN_*`` environment variables, and by command-line options (which the CLI
passes as overrides to :func:`get_settings`).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG_FILE = "qingshan.toml"


def default_db_url() -> str:
    """SQLite under ``./var/`` of the current directory: the embedded default."""
    return f"sqlite:///{Path.cwd() / 'var' / 'qingshan.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QINGSHAN_", extra="ignore")

    db_url: str = Field(default_factory=default_db_url, description="SQLAlchemy database URL")
    hj212_host: str = "0.0.0.0"
    hj212_port: int = 9212
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    hj212_max_segment: int = Field(1024, description="largest data segment accepted, chars")
    hj212_idle_timeout: float = Field(600.0, description="seconds before a silent link is closed")
    # Gateway limits against hostile peers (docs/operations.md, "Gateway limits")
    hj212_max_connections: int = Field(
        0,
        ge=0,
        description="HJ 212 connections at once; 0 = the open-file limit less hj212_fd_reserve "
        "(never more than that, whatever is set)",
    )
    hj212_fd_reserve: int = Field(
        1024,
        ge=16,
        description="file descriptors kept for the web app, database and files (at most half "
        "the open-file limit)",
    )
    hj212_max_per_address: int = Field(
        64, ge=1, description="HJ 212 connections at once from one address"
    )
    hj212_unauth_idle_timeout: float = Field(
        30.0, gt=0, description="seconds before a link that has not authenticated is closed"
    )
    hj212_unauth_in_flight: int = Field(
        4, ge=1, description="unanswered packets of a link that has not authenticated yet"
    )
    hj212_mn_in_flight: int = Field(
        512, ge=1, description="unanswered packets of one MN over all its links"
    )
    hj212_auth_free_failures: int = Field(
        3, ge=1, description="access-check failures (per address, per MN) answered at once"
    )
    hj212_auth_window_seconds: float = Field(
        900.0, gt=0, description="access-check failures older than this are forgotten"
    )
    hj212_auth_base_delay_seconds: float = Field(
        1.0, gt=0, description="delay of the first late refusal; doubles with each failure"
    )
    hj212_auth_max_delay_seconds: float = Field(
        30.0, gt=0, description="longest delay before a refusal is answered"
    )
    hj212_auth_disconnect_after: int = Field(
        10, ge=1, description="access-check failures that close the link and block the address"
    )
    hj212_auth_block_seconds: float = Field(
        900.0, gt=0, description="how long a blocked address's connections are refused"
    )
    hj212_auth_refusal_qnrtn: int = Field(
        3,
        description="QnRtn of the 9011 answer to unknown MN, retired device and wrong PW alike "
        "(3 PW错误 or 2 请求被拒绝; one code, so an answer never tells which MNs exist)",
    )
    hj212_split_budget_bytes: int = Field(
        8 * 1024 * 1024, ge=4096, description="bytes of split-packet parts held, all links"
    )
    hj212_split_max_pnum: int = Field(
        1000, ge=1, description="largest PNUM accepted (more parts: refused, quarantined)"
    )
    hj212_split_max_age: float = Field(
        300.0, gt=0, description="seconds an incomplete split packet is held"
    )
    hj212_quarantine_rate: float = Field(
        5.0, gt=0, description="quarantine rows a second per address; beyond, only counted"
    )
    hj212_quarantine_burst: float = Field(
        50.0, ge=1, description="quarantine rows an address may write at once"
    )
    hj212_reject_cutoff: int = Field(
        50, ge=1, description="refused packets in a row that close a link"
    )
    hj212_write_buffer_bytes: int = Field(
        256 * 1024, ge=4096, description="unread reply bytes after which a link is not read"
    )
    hj212_write_stall_timeout: float = Field(
        30.0, gt=0, description="seconds replies may stay unread before the link is cut"
    )
    hj212_refusal_flush_seconds: float = Field(
        5.0, gt=0, description="seconds between writes of the refusal counters"
    )
    hj212_lookup_rate: float = Field(
        20.0,
        gt=0,
        description="database look-ups a second of MNs not in the device cache (all connections)",
    )
    hj212_lookup_mn_seconds: float = Field(
        10.0, gt=0, description="seconds before an MN not found is looked up again"
    )
    raw_retention_days: int = Field(400, description="days of raw packets kept for audit")
    hj212_late_days: int = Field(
        1827,
        ge=1,
        description="oldest DataTime accepted, days before the server clock (late data: "
        "devices re-send what they held during an outage; archives are replayed)",
    )
    hj212_future_minutes: int = Field(
        1440,
        ge=0,
        description="DataTime accepted ahead of the server clock, minutes (device clocks drift)",
    )
    log_level: str = "INFO"
    # Web application (qingshan.web)
    web_cookie_secure: bool = Field(
        True, description="mark session cookies Secure (turn off only for plain-HTTP testing)"
    )
    web_session_hours: float = Field(12.0, description="browser session lifetime, hours")
    web_login_max_failures: int = Field(
        5,
        ge=1,
        description="failed log-ins of one user name from one address before delays start "
        "(4x this per user name from all addresses, and per address)",
    )
    web_login_window_seconds: float = Field(
        900.0, gt=0, description="failed log-ins older than this are forgotten, seconds"
    )
    web_login_base_delay_seconds: float = Field(
        1.0, gt=0, description="first delay after the free failures; doubles with each failure"
    )
    web_login_max_delay_seconds: float = Field(
        300.0, gt=0, description="longest delay between log-in attempts (never a lockout)"
    )
    web_login_user_max_delay_seconds: float = Field(
        30.0,
        gt=0,
        description="longest delay for a user name from an address that has not failed itself",
    )
    web_token_days: int = Field(90, ge=1, description="default lifetime of a new API token, days")
    web_token_max_days: int = Field(
        365, ge=1, description="longest lifetime a user may give an API token, days"
    )
    web_forwarded_allow_ips: str = Field(
        "",
        description="reverse proxies (addresses or networks, comma-separated) whose "
        "X-Forwarded-For/-Proto are honoured; empty = none (the peer is the client)",
    )
    web_export_max_rows: int = Field(
        500_000,
        ge=1,
        description="rows one export may hold (CSV/JSON/xlsx); a larger range is refused "
        "with a message to narrow it",
    )
    web_export_concurrency: int = Field(
        2, ge=1, description="web exports running at once (more: 503, try again)"
    )
    web_behind_tls: bool = Field(
        False, description="the site is reached over HTTPS (a TLS proxy): always send HSTS"
    )
    web_hsts_seconds: int = Field(
        31_536_000, ge=0, description="HSTS max-age on HTTPS responses, seconds (0: no HSTS)"
    )
    web_root_path: str = Field("", description="path prefix when served behind a reverse proxy")
    device_offline_minutes: int = Field(
        30, description="a device silent for longer than this is shown as offline (离线)"
    )
    map_tile_url: str = Field(
        "",
        description="tile URL template ({x},{y},{z},{s},{key}); empty = offline vector map only",
    )
    # keys stay on the server (repr=False keeps them out of logged settings too)
    map_tile_key: str = Field(
        "", repr=False, description="key substituted for {key} (e.g. 天地图 tk)"
    )
    map_tile_datum: str = Field("wgs84", description="datum of the tiles: wgs84 or gcj02")
    map_tianditu_key: str = Field(
        "",
        repr=False,
        description="天地图 key (tk): when set, the map shows 天地图's vector map (vec_w) and its "
        "labels (cva_w) through the server's tile proxy; wins over map_tile_url",
    )
    map_tianditu_url: str = Field(
        "https://{s}.tianditu.gov.cn",
        description="base URL of 天地图's WMTS services ({s}: t0 … t7); change only for a "
        "mirror inside the network",
    )
    # Casework foundation: attachments, notifications, the job scheduler (docs/casework.md)
    attachments_dir: str = Field(
        default_factory=lambda: str(Path.cwd() / "var" / "attachments"),
        description="directory of uploaded files (stored by SHA-256) and their thumbnails",
    )
    attachments_max_bytes: int = Field(20 * 1024 * 1024, description="largest upload, bytes")
    attachments_max_pixels: int = Field(
        60_000_000, description="largest image accepted, pixels (decompression bombs)"
    )
    attachments_max_unpacked_bytes: int = Field(
        200 * 1024 * 1024, description="largest uncompressed size of an .xlsx/.docx, bytes"
    )
    smtp_host: str = Field("", description="SMTP server for e-mail notices; empty = no e-mail")
    smtp_port: int = 25
    smtp_security: str = Field("none", description="none, starttls or ssl")
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = Field("", description="sender address of e-mail notices")
    smtp_timeout: float = Field(10.0, description="seconds for one SMTP conversation")
    sms_backend: str = Field(
        "",
        description="SMS sender: empty = none, 'outbox' = append to sms_outbox (testing), "
        "or 'package.module:factory' returning an SmsSender",
    )
    sms_outbox: str = Field(
        default_factory=lambda: str(Path.cwd() / "var" / "sms-outbox.jsonl"),
        description="file the 'outbox' SMS backend appends to (JSON lines)",
    )
    scheduler_enabled: bool = Field(True, description="run due jobs inside `qingshan serve`")
    scheduler_interval: float = Field(30.0, description="seconds between scheduler runs")
    source_alarm_interval: float = Field(
        5.0,
        description="seconds between runs of the pollution-source alarm detection in "
        "`qingshan serve` (0 = off)",
        ge=0,
    )
    scheduler_lease_seconds: float = Field(
        300.0, description="a claimed job not finished within this is taken over by another runner"
    )
    # Scale-out through NATS JetStream (docs/operations.md, "Bus mode"); empty = embedded.
    bus_servers: str = Field(
        "",
        description="NATS servers (nats://HOST:PORT[,nats://…]); set: `qingshan serve` publishes "
        "accepted packets to JetStream and `qingshan writer` stores them",
    )
    bus_stream: str = Field("QINGSHAN_HJ212", description="JetStream stream name")
    bus_subject_prefix: str = Field(
        "qingshan.hj212", description="subjects are PREFIX.<region>.<ST>.<MN>"
    )
    bus_region: str = Field(
        "",
        description="region token of this gateway's subjects; empty = the deployment's region "
        "code (or 'default')",
    )
    bus_replicas: int = Field(1, ge=1, le=5, description="stream replicas (3 on a cluster)")
    bus_max_age_days: float = Field(
        7.0, gt=0, description="days a packet stays in the stream (replay, late consumers)"
    )
    bus_max_bytes: int = Field(-1, description="stream size limit in bytes (-1 = none)")
    bus_duplicate_window_seconds: float = Field(
        300.0, gt=0, description="JetStream de-duplication window of the MN+QN+CN message id"
    )
    bus_publish_timeout: float = Field(
        5.0, gt=0, description="seconds a gateway waits for the stream's publish ack"
    )
    bus_ack_wait_seconds: float = Field(
        30.0, gt=0, description="a writer's unacknowledged message is re-delivered after this"
    )
    bus_max_deliver: int = Field(
        -1, description="deliveries of one message at most (-1 = until stored)"
    )
    bus_max_ack_pending: int = Field(
        20000, ge=1, description="messages handed to the writers and not yet acknowledged"
    )
    bus_batch: int = Field(500, ge=1, description="messages a writer fetches and commits at once")
    password_hash_time_cost: int = Field(
        3, ge=1, le=20, description="Argon2id passes per password hash (log-in, new password)"
    )
    password_hash_memory_kib: int = Field(
        65536, ge=64, le=4 * 1024 * 1024, description="Argon2id memory per password hash, KiB"
    )
    password_hash_parallelism: int = Field(4, ge=1, le=16, description="Argon2id lanes")
    bus_connect_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="at start, seconds to reach a NATS server before giving up with an error "
        "(once connected, a lost connection is retried for ever)",
    )
    leader_check_seconds: float = Field(
        2.0,
        gt=0,
        description="seconds between a `qingshan serve` process's tries to become (or checks "
        "that it still is) the one running the forwarder, roll-ups, figures and alarm detection",
    )
    hj212_reuse_port: bool = Field(
        False,
        description="listen on the HJ 212 port with SO_REUSEPORT, so several `qingshan serve` "
        "processes on one host share the port (the kernel spreads connections among them)",
    )
    web_workers: int = Field(
        1, ge=1, le=64, description="worker processes of `qingshan web` (--workers)"
    )
    web_status_socket: str | None = Field(
        None,
        description="the Unix socket on which a gateway answers its counters for the web "
        "app's /healthz; set by `qingshan serve` for the web process it starts",
    )

    @model_validator(mode="after")
    def _argon2_memory(self) -> Settings:
        # Argon2 needs at least 8 KiB of memory per lane.
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError(
                "password_hash_memory_kib must be at least 8 × password_hash_parallelism"
            )
        return self

    @field_validator("hj212_auth_refusal_qnrtn")
    @classmethod
    def _uniform_refusal(cls, v: int) -> int:
        # 4 MN错误 would tell a guesser which MNs exist; 5 is for the ST.
        if v not in (2, 3):
            raise ValueError("hj212_auth_refusal_qnrtn must be 3 (PW错误) or 2 (请求被拒绝)")
        return v

    @field_validator("web_forwarded_allow_ips")
    @classmethod
    def _explicit_proxies(cls, v: str) -> str:
        # Each trusted proxy named: "*" would let any client write its own address into the
        # audit log and escape the log-in throttle.
        for item in (x.strip() for x in v.split(",")):
            if not item:
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"web_forwarded_allow_ips: {item!r} is not an address or network"
                ) from None
        return ",".join(x.strip() for x in v.split(",") if x.strip())


def _config_file_values() -> dict[str, Any]:
    path = Path(os.environ.get("QINGSHAN_CONFIG", DEFAULT_CONFIG_FILE))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    # Accept both a flat file and one with a [qingshan] table.
    section = data.get("qingshan", data)
    return {k.replace("-", "_"): v for k, v in section.items() if not isinstance(v, dict)}


def get_settings(**overrides: Any) -> Settings:
    """Settings from file < environment < explicit overrides (``None`` overrides are ignored)."""
    file_values = _config_file_values()
    env_settings = Settings()
    merged: dict[str, Any] = {}
    for name in Settings.model_fields:
        env_key = f"QINGSHAN_{name.upper()}"
        if env_key in os.environ:
            merged[name] = getattr(env_settings, name)
        elif name in file_values:
            merged[name] = file_values[name]
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return Settings.model_validate(merged) if merged else env_settings
