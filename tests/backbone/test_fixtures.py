"""The PostgreSQL fixtures' contract: fail under CI, skip with a reason elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"


def run_pg_variant(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["QINGSHAN_TEST_PG_URL"] = UNREACHABLE
    if ci:
        env["CI"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            str(TESTS / "backbone" / "test_storage.py")
            + "::test_schema_is_at_head_and_init_is_repeatable",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=TESTS.parent,
    )


@pytest.mark.parametrize("ci", [True, False])
def test_unreachable_postgresql(ci: bool) -> None:
    r = run_pg_variant(ci)
    if ci:
        assert r.returncode != 0
        assert "CI is set: the PostgreSQL tests must run" in r.stdout
    else:
        assert r.returncode == 0, r.stdout
        assert "1 passed, 1 skipped" in r.stdout
        assert "unreachable" in r.stdout and "CI requires it" in r.stdout
