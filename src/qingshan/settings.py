"""The one settings object.

Every option can be given, in increasing priority, by a TOML config file
(``qingshan.toml`` in the working directory, or the file named by ``QINGSHAN_CONFIG``),
by ``QINGSHAN_*`` environment variables, and by command-line options (which the CLI
passes as overrides to :func:`get_settings`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field
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
    raw_retention_days: int = Field(400, description="days of raw packets kept for audit")
    log_level: str = "INFO"


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
