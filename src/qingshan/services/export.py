"""Reading observations back out (``qingshan data export``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from qingshan.clock import CST
from qingshan.storage.db import READONLY
from qingshan.storage.models import Device, Observation, Resolution


class ExportError(ValueError):
    """A bad export request, with a message for the user."""


def parse_time(text: str, what: str) -> datetime:
    """ISO 8601 → naive China Standard Time (how ``data_time`` is stored).

    A time without offset is taken as China Standard Time; one with an offset is converted.
    """
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(
            f"{what} {text!r} is not an ISO 8601 time (e.g. 2026-01-01T08:00 or 2026-01-01)"
        ) from None
    if t.tzinfo is not None:
        t = t.astimezone(CST).replace(tzinfo=None)
    return t


@dataclass(frozen=True, slots=True)
class ExportRow:
    code: str
    time: datetime  # naive CST
    value: str | None
    flag: str | None
    derived: bool

    @property
    def iso_time(self) -> str:
        return self.time.replace(tzinfo=CST).isoformat()


def export_observations(
    engine: Engine, *, mn: str, resolution: Resolution, start: datetime, end: datetime
) -> Iterator[ExportRow]:
    """Observations of device ``mn`` with ``start <= time <= end``, by time then code.

    The request is checked before anything is yielded, so errors come before any output.
    """
    if end < start:
        raise ExportError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    reader = engine.execution_options(**READONLY)
    with reader.connect() as conn:
        dev_id = conn.execute(select(Device.id).where(Device.mn == mn)).scalar()
    if dev_id is None:
        raise ExportError(f"no device with MN {mn}")
    return _rows(reader, dev_id, resolution, start, end)


def _rows(
    reader: Engine, dev_id: int, resolution: Resolution, start: datetime, end: datetime
) -> Iterator[ExportRow]:
    o = Observation
    q = (
        select(o.code, o.data_time, o.value, o.flag, o.derived)
        .where(
            o.device_id == dev_id,
            o.resolution == int(resolution),
            o.data_time >= start,
            o.data_time <= end,
        )
        .order_by(o.data_time, o.code)
    )
    with reader.connect() as conn:
        for r in conn.execute(q.execution_options(yield_per=5000)):
            yield ExportRow(r.code, r.data_time, r.value, r.flag, bool(r.derived))
