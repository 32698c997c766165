from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text

from qingshan.services.registry import (
    Directory,
    RegistryError,
    add_device,
    add_upstream,
    get_device,
    list_devices,
    retire_device,
)
from qingshan.storage import partitions
from qingshan.storage.db import (
    DatabaseURLError,
    SchemaNotReadyError,
    check_schema,
    head_revision,
    init_db,
    make_engine,
    normalise_url,
)
from qingshan.storage.models import DeviceHistory, Observation, Region, Site
from qingshan.storage.writes import upsert_observations

MN = "010000A8900016F000169DC0"


def test_schema_is_at_head_and_init_is_repeatable(engine: Engine) -> None:
    check_schema(engine)
    init_db(engine)  # upgrading an up-to-date database is a no-op
    check_schema(engine)
    names = set(inspect(engine).get_table_names())
    assert {
        "observation",
        "device",
        "region",
        "site",
        "quarantine",
        "received_packet",
        "raw_packet",
        "forward_queue",
        "rollup_dirty",
        "connection_log",
    } <= names
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == (
            head_revision()
        )


def test_empty_database_is_reported_not_ready(tmp_path: Path) -> None:
    e = make_engine(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(SchemaNotReadyError, match="qingshan init"):
        check_schema(e)


def test_url_validation() -> None:
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    with pytest.raises(DatabaseURLError, match="unsupported database 'mysql'"):
        normalise_url("mysql://u@h/db")
    with pytest.raises(DatabaseURLError, match="psycopg 3"):
        normalise_url("postgresql+psycopg2://u@h/db")
    with pytest.raises(DatabaseURLError, match="not a database URL"):
        normalise_url("no url at all")


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    e = init_db(f"sqlite:///{tmp_path}/w.db")
    with e.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_observation_values_round_trip_exactly(engine: Engine) -> None:
    texts = ["12.30", "0.000001", "-5", "123456789012345678.123456789", "1E+3", "0.10"]
    rows = [
        {
            "device_id": 1,
            "resolution": 1,
            "data_time": datetime(2026, 3, 1, 0, i),
            "code": "w01018",
            "value": t,
            "vmin": t,
            "vmax": t,
            "cou": None,
            "zs": None,
            "flag": "N",
            "derived": False,
            "samples": None,
        }
        for i, t in enumerate(texts)
    ]
    partitions.ensure_months(engine, {(2026, 3)})
    with engine.begin() as conn:
        upsert_observations(conn, rows, derived=False)
    with engine.connect() as conn:
        got = (
            conn.execute(select(Observation.value).order_by(Observation.data_time)).scalars().all()
        )
    assert got == texts


def test_postgres_observation_is_partitioned_by_month(db_url: str) -> None:
    engine = make_engine(db_url)
    if engine.dialect.name != "postgresql":
        assert partitions.ensure_months(engine, {(2026, 1)}) == []
        return
    created = partitions.ensure_months(engine, {(2025, 12), (2026, 1)})
    assert set(created) == {"observation_p202512", "observation_p202601"}
    assert partitions.ensure_months(engine, {(2026, 1)}) == []  # cached
    partitions.forget(engine)
    assert partitions.ensure_months(engine, {(2026, 1)}) == []  # catalogue says it exists
    row = {
        "device_id": 1,
        "resolution": 2,
        "code": "a21026",
        "value": "1",
        "vmin": None,
        "vmax": None,
        "cou": None,
        "zs": None,
        "flag": "N",
        "derived": False,
        "samples": None,
    }
    with engine.begin() as conn:
        upsert_observations(
            conn,
            [
                {**row, "data_time": datetime(2025, 12, 31, 23)},
                {**row, "data_time": datetime(2026, 1, 1, 0)},
            ],
            derived=False,
        )
        counts = dict(
            conn.execute(
                text("select tableoid::regclass::text, count(*) from observation group by 1")
            ).all()
        )
        strategy = conn.execute(
            text(
                "select partstrat from pg_partitioned_table p join pg_class c "
                "on c.oid = p.partrelid where c.relname = 'observation'"
            )
        ).scalar()
        idx = (
            conn.execute(text("select indexdef from pg_indexes where tablename = 'observation'"))
            .scalars()
            .all()
        )
    assert counts == {"observation_p202512": 1, "observation_p202601": 1}
    assert strategy == "r"
    assert any("(resolution, data_time)" in i for i in idx)
    assert any("(device_id, resolution, data_time, code)" in i for i in idx)
    engine.dispose()


def test_device_registry_lifecycle(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            Region.__table__.insert(),
            [
                {"code": "620000", "name": "甘肃省", "level": "province", "parent_code": None},
                {"code": "620800", "name": "平凉市", "level": "city", "parent_code": "620000"},
                {"code": "620802", "name": "崆峒区", "level": "county", "parent_code": "620800"},
            ],
        )
        conn.execute(
            Site.__table__.insert(),
            [
                {
                    "code": "S1",
                    "name": "崆峒区监测站",
                    "kind": "air_station",
                    "region_code": "620802",
                    "longitude": "106.6650",
                    "latitude": "35.5430",
                    "control_level": "国控",
                }
            ],
        )
    info = add_device(engine, mn=MN, pw="123456", st="22", site="S1", group="province")
    assert (info.mn, info.st, info.edition, info.encoding, info.site_code) == (
        MN,
        "22",
        "2017",
        "gbk",
        "S1",
    )
    with pytest.raises(RegistryError, match="already registered"):
        add_device(engine, mn=MN, pw="123456", st="22")
    with pytest.raises(RegistryError, match="no site with code 'nope'"):
        add_device(engine, mn="ABC", pw="123456", st="22", site="nope")
    with pytest.raises(RegistryError, match="ST '2'"):
        add_device(engine, mn="ABC", pw="123456", st="2")
    with pytest.raises(RegistryError, match="edition '2019'"):
        add_device(engine, mn="ABC", pw="123456", st="22", edition="2019")
    with pytest.raises(RegistryError, match="unknown text encoding"):
        add_device(engine, mn="ABC", pw="123456", st="22", encoding="klingon")
    up = add_upstream(engine, name="省平台", host="127.0.0.1", port=9999, group="province")
    directory = Directory(engine)
    dev = directory.get(MN)
    assert dev is not None and dev.upstream_ids == (up,)
    retire_device(engine, MN, note="replaced")
    dev2 = get_device(engine, MN)
    assert dev2 is not None and not dev2.active
    add_device(engine, mn=MN, pw="654321", st="22", edition="2025", encoding="utf-8")
    assert [d.pw for d in list_devices(engine)] == ["654321"]
    with engine.connect() as conn:
        changes = (
            conn.execute(select(DeviceHistory.change).order_by(DeviceHistory.id)).scalars().all()
        )
    assert changes == ["added", "retired", "reactivated"]


def test_site_kind_and_outlet_constraints(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(Site.__table__.insert(), [{"code": "X", "name": "x", "kind": "volcano"}])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            Site.__table__.insert(), [{"code": "O", "name": "排口", "kind": "enterprise_outlet"}]
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            Site.__table__.insert(),
            [{"code": "L", "name": "x", "kind": "noise_station", "latitude": "95"}],
        )


def test_sqlite_reader_does_not_block_writer(tmp_path: Path) -> None:
    from qingshan.storage.db import READONLY

    e = init_db(f"sqlite:///{tmp_path}/r.db")
    reader = e.execution_options(**READONLY)
    with reader.connect() as rconn:
        rconn.execute(text("select count(*) from device")).scalar()
        add_device(e, mn="AB12", pw="123456", st="32")  # would time out under BEGIN IMMEDIATE
    raw = create_engine(f"sqlite:///{tmp_path}/r.db")
    with raw.connect() as conn:
        assert conn.execute(text("select mn from device")).scalar() == "AB12"


def test_factors_are_seeded_from_the_hj212_code_tables(engine: Engine) -> None:
    from qingshan.services.registry import seed_factors
    from qingshan.storage.models import Factor

    added = seed_factors(engine)
    assert added > 300
    assert seed_factors(engine) == 0  # idempotent
    with engine.connect() as conn:
        cod = conn.execute(
            select(Factor).where(Factor.code == "w01018", Factor.edition == "2017")
        ).one()
        old = conn.execute(
            select(Factor.code_2017).where(Factor.code == "011", Factor.edition == "2005")
        ).scalar()
        so2 = conn.execute(
            select(Factor.medium).where(Factor.code == "a21026", Factor.edition == "2017")
        ).scalar()
    assert cod.medium == "water" and old == "w01018" and so2 == "air"


def test_upgrade_from_the_first_revision(db_url: str) -> None:
    """`qingshan init` upgrades an older schema in place, keeping the data."""
    from qingshan.storage.db import current_revision, migrate

    engine = make_engine(db_url)
    add_device(engine, mn=MN, pw="123456", st="22")
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    with pytest.raises(SchemaNotReadyError):
        check_schema(engine)
    init_db(engine)
    assert current_revision(engine) == head_revision()
    dev = get_device(engine, MN)
    assert dev is not None and dev.sm4_key is None
    engine.dispose()
