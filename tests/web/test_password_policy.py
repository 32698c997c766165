"""The password policy: one rule in qingshan.services.accounts for the command line and the
web alike, with clear Chinese messages."""

from __future__ import annotations

import secrets
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import migrated_sqlite_url
from qingshan.cli.main import app as cli
from qingshan.services.accounts import (
    MIN_PASSWORD,
    AccountError,
    common_passwords,
    hash_password,
    password_problem,
)
from web.conftest import login

PRINTABLE = string.ascii_letters + string.digits + string.punctuation


@given(st.sampled_from(PRINTABLE), st.integers(MIN_PASSWORD, 80))
def test_one_character_repeated_is_refused(c: str, n: int) -> None:
    assert "重复" in (password_problem(c * n) or "")


@given(st.text(PRINTABLE, min_size=2, max_size=5), st.integers(2, 20))
def test_a_piece_repeated_is_refused(piece: str, times: int) -> None:
    pw = piece * times
    if len(pw) >= MIN_PASSWORD:
        assert password_problem(pw) is not None


@given(st.sampled_from([string.ascii_lowercase, string.digits]), st.integers(0, 16))
def test_straight_runs_are_refused(alphabet: str, start: int) -> None:
    first = start % (len(alphabet) - MIN_PASSWORD + 1)  # a run that does not wrap around
    run = alphabet[first : first + MIN_PASSWORD]
    assert password_problem(run) is not None
    assert password_problem(run[::-1].upper()) is not None


@given(st.integers(0, 10**6), st.text(string.punctuation, max_size=3))
def test_common_passwords_with_digits_and_symbols_around_are_refused(n: int, sym: str) -> None:
    for word in ("password", "woaini", "qwertyuiop", "admin", "p@ssw0rd", "qingshan"):
        pw = word.capitalize() + str(n) + sym
        if len(pw) >= MIN_PASSWORD:
            assert "常见" in (password_problem(pw) or ""), pw


def test_random_passwords_pass() -> None:
    for _ in range(200):
        assert password_problem(secrets.token_urlsafe(12)) is None
    assert password_problem("correct-horse-1") is None
    assert password_problem("青山绿水就是金山银山") is None


def test_short_and_user_name_and_list_file() -> None:
    assert "至少需要 10 个字符" in (password_problem("Xy7#kq2") or "")
    assert "用户名" in (password_problem("zhangsan-Xy7#kq", "zhangsan") or "")
    assert {"123456789", "password", "5201314", "qwertyuiop"} <= common_passwords()
    assert all(w == w.lower() and w.strip() == w for w in common_passwords())
    with pytest.raises(AccountError, match="常见"):
        hash_password("Password2026!")


def test_cli_refuses_weak_passwords_in_chinese(tmp_path: Path) -> None:
    url = migrated_sqlite_url(tmp_path / "p.db")
    runner = CliRunner()
    add = ["user", "add", "--db", url, "--username", "wangwu", "--role", "staff"]
    for pw, message in (
        ("aaaaaaaaaa", "重复"),
        ("1234567890", "常见"),
        ("abcdefghij", "连续"),
        ("wangwu2026xx", "用户名"),
    ):
        r = runner.invoke(
            cli,
            [*add, "--password-stdin"],
            input=pw + "\n",
        )
        assert r.exit_code == 2 and message in r.output, (pw, r.output)
    r = runner.invoke(
        cli,
        ["user", "add", "--db", url, "--username", "wangwu", "--role", "staff", "--password-stdin"],
        input="Tz8-river-lamp\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli, ["user", "password", "wangwu", "--db", url, "--password-stdin"], input="qwertyuiop\n"
    )
    assert r.exit_code == 2 and "常见" in r.output


def test_web_refuses_weak_passwords_in_chinese(app: Any) -> None:
    c = login(app, "admin")
    r = c.post(
        "/api/v1/users", json={"username": "zhaoliu", "password": "aaaaaaaaaa", "role": "staff"}
    )
    assert r.status_code == 422 and "重复" in r.json()["detail"]
    r = c.post("/api/v1/users", json={"username": "zhaoliu", "password": "short", "role": "staff"})
    assert r.status_code == 422 and "至少需要" in r.json()["detail"]
    staff = c.get("/api/v1/users").json()
    sid = next(u["id"] for u in staff if u["username"] == "staff")
    r = c.patch(f"/api/v1/users/{sid}", json={"password": "Password123!"})
    assert r.status_code == 422 and "常见" in r.json()["detail"]
