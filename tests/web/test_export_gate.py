"""At most web_export_concurrency exports at once; a slot comes back however a stream ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from qingshan.web.exports import ExportGate, gated
from web.conftest import login


def test_gate_slot_returns_when_the_stream_ends_fails_or_is_dropped() -> None:
    gate = ExportGate(1)
    assert gate.try_enter() and not gate.try_enter()
    assert list(gated(iter([b"a", b"b"]), gate)) == [b"a", b"b"]
    assert gate.try_enter()

    def boom() -> Any:
        yield b"x"
        raise OSError("disk")

    with pytest.raises(OSError):
        list(gated(boom(), gate))
    assert gate.try_enter()
    stream = gated(iter([b"1", b"2", b"3"]), gate)
    next(stream)
    stream.close()  # the client went away
    assert gate.try_enter()
    gate.leave()


def test_export_beyond_the_limit_is_503_with_retry_after(app: Any, ids: dict[str, int]) -> None:
    c = login(app, "staff")
    now = datetime.now(UTC)
    params = {
        "site_id": ids["site_air"],
        "start": (now - timedelta(days=2)).isoformat(),
        "end": now.isoformat(),
        "format": "csv",
    }
    gate: ExportGate = app.state.qingshan.exports
    taken = 0
    while gate.try_enter():  # every slot busy with someone else's export
        taken += 1
    assert taken == 2  # the default web_export_concurrency
    r = c.get("/api/v1/export", params=params)
    assert r.status_code == 503 and r.headers["retry-after"] == "10"
    assert "导出任务繁忙" in r.json()["detail"]
    gate.leave()
    r = c.get("/api/v1/export", params=params)
    assert r.status_code == 200 and r.text.startswith("\ufeff时间")
    gate.leave()
    for _ in range(3):  # each finished export gave its slot back
        assert c.get("/api/v1/export", params=params).status_code == 200
