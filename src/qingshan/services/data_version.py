"""A cheap, cross-process marker of "the data behind the cockpit and the map changed".

:func:`data_version` reads a handful of indexed maxima and counts of small tables in one
statement (a few milliseconds on both backends, whatever the size of ``observation``), so every
web worker process, on any host, sees the same version for the same database state:

* ``device``: count of active devices and the latest and earliest ``last_seen_at`` (every
  stored packet moves the latest; registering or retiring a device changes the count; a
  device's report time set back, by an operator or a restored backup, moves the earliest);
* ``site``: count and largest id (sites registered or removed);
* ``quarantine``: largest id (rejected packets, the cockpit's 24-hour count);
* ``rollup_dirty`` and ``figure_dirty``: count and latest mark. The gateway marks buckets as it
  stores data and the roll-up and figures jobs delete the marks they have processed, so both
  "new data arrived" and "derived hours, days and figures were recomputed" move the version;
* the current minute (China time): "online" (last report within ``device_offline_minutes``)
  and "rejected in the last 24 hours" move with the clock even when no data arrives.

The version is a short hex digest of those values; equal digests mean "nothing the payloads
read has changed" up to registry edits that touch no counted table (a permit's limits, a
site's name), which reach the payloads within the cache's maximum age (see
:mod:`qingshan.web.cache`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from qingshan.clock import to_cst, utcnow
from qingshan.storage.models import Device, Quarantine, RollupDirty, Site
from qingshan.storage.models_figures import FigureDirty


def version_query() -> Any:
    n = func.count()
    return select(
        select(n).select_from(Device).where(Device.active).scalar_subquery(),
        select(func.max(Device.last_seen_at)).scalar_subquery(),
        select(func.min(Device.last_seen_at)).scalar_subquery(),
        select(n).select_from(Site).scalar_subquery(),
        select(func.max(Site.id)).scalar_subquery(),
        select(func.max(Quarantine.id)).scalar_subquery(),
        select(n).select_from(RollupDirty).scalar_subquery(),
        select(func.max(RollupDirty.marked_at)).scalar_subquery(),
        select(n).select_from(FigureDirty).scalar_subquery(),
        select(func.max(FigureDirty.marked_at)).scalar_subquery(),
    )


def data_version(conn: Any, now: datetime | None = None) -> str:
    """The data version of the database behind ``conn`` (a Connection or Session)."""
    row = conn.execute(version_query()).one()
    minute = to_cst(now or utcnow()).strftime("%Y%m%d%H%M")
    raw = "|".join("" if v is None else str(v) for v in (*row, minute))
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()
