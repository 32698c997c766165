from pathlib import Path

import pytest

from qingshan.settings import get_settings


def test_defaults_point_to_var_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QINGSHAN_DB_URL", raising=False)
    s = get_settings()
    assert s.db_url == f"sqlite:///{tmp_path / 'var' / 'qingshan.db'}"
    assert s.hj212_max_segment == 1024


def test_file_then_env_then_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qingshan.toml").write_text("hj212_port = 7000\nhttp_port = 7001\n")
    assert get_settings().hj212_port == 7000
    monkeypatch.setenv("QINGSHAN_HJ212_PORT", "7100")
    s = get_settings()
    assert s.hj212_port == 7100
    assert s.http_port == 7001
    assert get_settings(hj212_port=7200).hj212_port == 7200
    assert get_settings(hj212_port=None).hj212_port == 7100
