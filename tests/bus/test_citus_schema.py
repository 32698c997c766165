"""The observation table can be distributed by device with Citus (docs/operations.md,
"Past one PostgreSQL: Citus"): checked on the migrated schema of a real PostgreSQL.

Citus distributes a table by one column when every primary key and unique constraint
contains that column, no exclusion constraint exists, and foreign keys run only between
tables distributed by the same column (or to reference tables). Native range partitions by
time are kept: Citus distributes a partitioned table with its partitions."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from qingshan.storage import partitions
from qingshan.storage.db import make_engine

pytestmark = pytest.mark.postgres

#: Distributed by device, co-located: a device's data lives on one worker.
BY_DEVICE = ("observation", "device_status")


def test_observation_tables_can_be_distributed_by_device(pg_module_url: str) -> None:
    engine = make_engine(pg_module_url)
    partitions.ensure_months(engine, [(2026, 3), (2026, 4)])  # partitions as ingestion makes them
    try:
        with engine.connect() as conn:
            strategy = conn.execute(
                text(
                    "SELECT p.partstrat, a.attname FROM pg_partitioned_table p "
                    "JOIN pg_class c ON c.oid = p.partrelid "
                    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0] "
                    "WHERE c.relname = 'observation'"
                )
            ).one()
            assert tuple(strategy) == ("r", "data_time")  # range partitions by time stay
            for table in BY_DEVICE:
                # every primary key / unique constraint / unique index holds device_id
                uniques = conn.execute(
                    text(
                        "SELECT i.indexrelid::regclass::text, array_agg(a.attname::text) "
                        "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
                        "WHERE c.relname = :t AND i.indisunique GROUP BY i.indexrelid"
                    ),
                    {"t": table},
                ).all()
                assert uniques, f"{table} has no primary key"
                for name, cols in uniques:
                    assert "device_id" in cols, f"{name} on {table} lacks device_id: {cols}"
                kinds = conn.execute(
                    text(
                        "SELECT con.contype, con.conname, con.conrelid::regclass::text, "
                        "con.confrelid::regclass::text FROM pg_constraint con "
                        "WHERE con.conrelid = CAST(:t AS regclass) "
                        "   OR con.confrelid = CAST(:t AS regclass)"
                    ),
                    {"t": table},
                ).all()
                for contype, name, src, dst in kinds:
                    assert contype != "x", f"exclusion constraint {name} forbids distribution"
                    if contype == "f":
                        # a foreign key only between co-located tables, on device_id
                        assert src in BY_DEVICE and dst in BY_DEVICE, (
                            f"foreign key {name} {src} → {dst} crosses the distribution"
                        )
                    if contype == "u":
                        cols = conn.execute(
                            text(
                                "SELECT array_agg(a.attname::text) FROM pg_constraint con "
                                "JOIN pg_attribute a ON a.attrelid = con.conrelid "
                                "AND a.attnum = ANY(con.conkey) WHERE con.conname = :n "
                                "GROUP BY con.oid"
                            ),
                            {"n": name},
                        ).scalar()
                        assert "device_id" in cols
            # the partitions carry only what the parent declares (no unique index of their own)
            extra = (
                conn.execute(
                    text(
                        "SELECT ic.relname FROM pg_inherits h "
                        "JOIN pg_class p ON p.oid = h.inhparent "
                        "JOIN pg_index i ON i.indrelid = h.inhrelid "
                        "JOIN pg_class ic ON ic.oid = i.indexrelid "
                        "LEFT JOIN pg_inherits ih ON ih.inhrelid = i.indexrelid "
                        "WHERE p.relname = 'observation' AND i.indisunique AND ih.inhrelid IS NULL"
                    )
                )
                .scalars()
                .all()
            )
            assert extra == []
    finally:
        engine.dispose()
