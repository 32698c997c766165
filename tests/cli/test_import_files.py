"""Every workbook import names an unreadable file in Chinese and exits 2 before it opens the
database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qingshan.cli.main import app

IMPORTS = [["registry", "import"], ["case", "import"], ["source", "measures", "import"]]


@pytest.mark.parametrize("command", IMPORTS, ids=lambda c: " ".join(c))
def test_missing_file_and_a_directory_are_named(command: list[str], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'never-created.db'}"
    missing = tmp_path / "台账.xlsx"
    r = CliRunner().invoke(app, [*command, str(missing), "--db", db])
    assert r.exit_code == 2 and f"无法读取 {missing}：文件不存在" in r.output
    r = CliRunner().invoke(app, [*command, str(tmp_path), "--db", db])
    assert r.exit_code == 2 and "这是一个目录，不是文件" in r.output
    assert not (tmp_path / "never-created.db").exists()
