"""Deployment data in the database (issue 12, first slice): the own region, outlines, plan
targets and discharge permits with their limits — the services that write and read them, the
exact limit rule, and the migration that creates their tables. SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from qingshan.clock import utcnow
from qingshan.services import deployment, permits
from qingshan.services.deployment import DeploymentError, check_geometry
from qingshan.services.permits import Basis, LimitSpec, PermitError
from qingshan.storage.db import current_revision, init_db, migrate, session_scope
from qingshan.storage.models import Base, Device, Enterprise, Region, Site
from qingshan.storage.models_registry import Deployment, Permit

NEW_TABLES = {
    "deployment",
    "region_boundary",
    "permit",
    "permit_limit",
    "permit_annual_amount",
    "indicator_target",
}
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[98.0, 39.7], [98.5, 39.7], [98.5, 40.0], [98.0, 40.0], [98.0, 39.7]]],
}


def _regions(engine: Engine, *rows: tuple[str, str, str, str | None]) -> None:
    with session_scope(engine) as s:
        for code, name, level, parent in rows:
            s.add(Region(code=code, name=name, level=level, parent_code=parent))
            s.flush()


def _outlet(engine: Engine, code: str = "E1/DA001", mn: str = "620200111001AAAAAAAAAAAA") -> int:
    """An enterprise with one gas outlet and its device; returns the enterprise id."""
    with session_scope(engine) as s:
        e = Enterprise(name=f"测试企业{code}", region_code="620200")
        s.add(e)
        s.flush()
        site = Site(
            code=code,
            name="1#排气筒",
            kind="enterprise_outlet",
            region_code="620200",
            enterprise_id=e.id,
            outlet_medium="gas",
        )
        s.add(site)
        s.flush()
        s.add(Device(mn=mn, pw="123456", st="31", site_id=site.id, created_at=utcnow()))
        return e.id


# --------------------------------------------------------------------------- schema


def _ours(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in NEW_TABLES


def test_migration_creates_the_tables_the_models_declare(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= NEW_TABLES
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        assert compare_metadata(mc, Base.metadata) == []


def test_downgrade_removes_the_tables_and_upgrade_restores_them(db_url: str) -> None:
    engine = init_db(db_url)
    migrate(engine, "0200_figures")
    assert current_revision(engine) == "0200_figures"
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    init_db(engine)
    assert set(inspect(engine).get_table_names()) >= NEW_TABLES
    engine.dispose()


def test_single_deployment_row_and_permit_checks_are_enforced(engine: Engine) -> None:
    _regions(engine, ("620200", "嘉峪关市", "city", None))
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(Deployment(id=2, region_code="620200", updated_at=utcnow()))
    ent = _outlet(engine)
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(
            Permit(
                enterprise_id=ent,
                number="X1",
                management_class="重点管理",
                valid_from=date(2026, 1, 1),
                valid_to=date(2025, 1, 1),
            )
        )


# --------------------------------------------------------------------------- own region


def test_own_region_recorded_wins_over_inference(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert deployment.own_region(s) is None  # an empty database has no answer
    _regions(
        engine,
        ("620000", "甘肃省", "province", None),
        ("620800", "平凉市", "city", "620000"),
        ("620802", "崆峒区", "county", "620800"),
    )
    with session_scope(engine) as s:
        r = deployment.own_region(s)
        assert r is not None and (r.code, r.recorded) == ("620802", False)  # the only county
    _regions(engine, ("620821", "泾川县", "county", "620800"))
    with session_scope(engine) as s:
        assert deployment.region_code(s) is None  # two counties, neither holds a site
        s.add(Region(code="620821001", name="城关镇", level="township", parent_code="620821"))
        s.flush()
        s.add(Site(code="A1", name="站", kind="air_station", region_code="620821001"))
        s.flush()
        assert deployment.region_code(s) == "620821"  # the one county holding sites
        deployment.set_own_region(s, "620800", data_notice="测试说明")
    with session_scope(engine) as s:
        r = deployment.own_region(s)
        assert r is not None and (r.code, r.name, r.level, r.recorded) == (
            "620800",
            "平凉市",
            "city",
            True,
        )
        assert deployment.data_notice(s) == "测试说明"
        deployment.set_own_region(s, "620802")  # re-recording replaces the one row
        assert deployment.region_code(s) == "620802" and deployment.data_notice(s) is None
        assert len(s.scalars(select(Deployment)).all()) == 1
        with pytest.raises(DeploymentError, match="unknown region"):
            deployment.set_own_region(s, "110000")


# --------------------------------------------------------------------------- boundaries


def test_boundaries_own_region_first_and_checked(engine: Engine) -> None:
    _regions(
        engine,
        ("620000", "甘肃省", "province", None),
        ("620100", "兰州市", "city", "620000"),
        ("620200", "嘉峪关市", "city", "620000"),
    )
    with session_scope(engine) as s:
        assert deployment.boundaries(s) == {"type": "FeatureCollection", "features": []}
        deployment.set_boundary(s, "620100", SQUARE, source="测试")
        deployment.set_boundary(s, "620200", SQUARE)
        deployment.set_own_region(s, "620200")
    with session_scope(engine) as s:
        fc = deployment.boundaries(s)
    assert [f["id"] for f in fc["features"]] == ["620200", "620100"]
    own = fc["features"][0]
    assert own["properties"] == {"code": "620200", "name": "嘉峪关市", "level": "city", "own": True}
    assert own["geometry"] == SQUARE and fc["features"][1]["properties"]["own"] is False
    with session_scope(engine) as s:
        open_ring = [*SQUARE["coordinates"][0][:-1], [98.1, 39.8]]
        with pytest.raises(DeploymentError, match="closed"):
            deployment.set_boundary(s, "620200", {"type": "Polygon", "coordinates": [open_ring]})
        with pytest.raises(DeploymentError, match="unknown region"):
            deployment.set_boundary(s, "999999", SQUARE)


BAD_GEOMETRIES = [
    ({"type": "Point", "coordinates": [98.0, 39.0]}, "not Polygon"),
    ({"type": "Polygon", "coordinates": []}, "non-empty"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 91], [0, 0]]]}, "WGS-84"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [True, 1], [0, 0]]]}, "finite"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [float("nan"), 1], [0, 0]]]}, "finite"),
    ({"type": "MultiPolygon", "coordinates": [[]]}, "non-empty"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1], [0, 0]]]}, "position"),
]


@pytest.mark.parametrize(("geom", "message"), BAD_GEOMETRIES)
def test_bad_geometries_are_refused(geom: dict[str, Any], message: str) -> None:
    with pytest.raises(DeploymentError, match=message):
        check_geometry(geom)


lon = st.floats(-180, 180, allow_nan=False)
lat = st.floats(-90, 90, allow_nan=False)
ring = st.lists(st.tuples(lon, lat), min_size=3, max_size=12).map(
    lambda ps: [list(p) for p in ps] + [list(ps[0])]
)


@given(st.lists(st.lists(ring, min_size=1, max_size=3), min_size=1, max_size=3))
def test_closed_wgs84_rings_are_accepted_as_given(polys: list[list[list[list[float]]]]) -> None:
    geom = {"type": "MultiPolygon", "coordinates": polys, "bbox": [0, 0, 1, 1]}
    assert check_geometry(geom) == {"type": "MultiPolygon", "coordinates": polys}
    assert check_geometry({"type": "Polygon", "coordinates": polys[0]})["coordinates"] == polys[0]


@given(ring, st.floats(90.000001, 1e6) | st.floats(-1e6, -90.000001))
def test_a_latitude_off_the_globe_is_refused(r: list[list[float]], bad: float) -> None:
    r = [p[:] for p in r]
    r[1][1] = bad
    with pytest.raises(DeploymentError):
        check_geometry({"type": "Polygon", "coordinates": [r]})


# --------------------------------------------------------------------------- targets


def test_targets_apply_by_year_and_compare_exactly(engine: Engine) -> None:
    _regions(engine, ("620200", "嘉峪关市", "city", None))
    with session_scope(engine) as s:
        deployment.set_target(
            s, "620200", "good_day_ratio", "85.0", "%", year_from=2016, year_to=2020, source="甲"
        )
        deployment.set_target(
            s, "620200", "good_day_ratio", "90.5", "%", year_from=2021, source="乙"
        )
        deployment.set_target(
            s,
            "620200",
            "pm25_mean",
            "30",
            "μg/m³",
            year_from=2021,
            comparison="at_most",
            source="丙",
        )
    with session_scope(engine) as s:
        assert deployment.targets(s, "620200", 2015) == {}
        old = deployment.targets(s, "620200", 2020)
        assert list(old) == ["good_day_ratio"] and old["good_day_ratio"].value == Decimal("85.0")
        now = deployment.targets(s, "620200", 2026)
        ratio, pm = now["good_day_ratio"], now["pm25_mean"]
        assert (str(ratio.value), ratio.source, ratio.year_to) == ("90.5", "乙", None)
        assert ratio.met_by(Decimal("90.5")) and not ratio.met_by(Decimal("90.4"))
        assert pm.met_by(Decimal("30")) and not pm.met_by(Decimal("30.1"))
        # re-recording a target with the same start replaces it
        deployment.set_target(s, "620200", "good_day_ratio", "91", "%", year_from=2021, source="丁")
        assert deployment.targets(s, "620200", 2026)["good_day_ratio"].source == "丁"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": 96.7}, "decimal text"),
        ({"value": "NaN"}, "decimal text"),
        ({"value": "九十"}, "decimal text"),
        ({"indicator": "Good Day"}, "lower-case"),
        ({"comparison": "about"}, "comparison"),
        ({"year_to": 2020}, "period"),
        ({"source": " "}, "cite the plan"),
        ({"unit": ""}, "unit"),
        ({"region": "110000"}, "unknown region"),
    ],
)
def test_bad_targets_are_refused(engine: Engine, kwargs: dict[str, Any], message: str) -> None:
    _regions(engine, ("620200", "嘉峪关市", "city", None))
    args: dict[str, Any] = {
        "region": "620200",
        "indicator": "good_day_ratio",
        "value": "90",
        "unit": "%",
        "year_from": 2021,
        "source": "规划",
    }
    args.update(kwargs)
    with session_scope(engine) as s, pytest.raises(DeploymentError, match=message):
        deployment.set_target(
            s,
            args.pop("region"),
            args.pop("indicator"),
            args.pop("value"),
            args.pop("unit"),
            **args,
        )


# --------------------------------------------------------------------------- permits


def _limit(**kw: Any) -> permits.Limit:
    base: dict[str, Any] = {
        "permit_number": "P1",
        "site_id": 1,
        "pollutant": "a34013",
        "upper": Decimal("30"),
        "lower": None,
        "unit": "mg/m³",
        "basis": Basis.HOUR,
        "o2_ref": None,
        "standard": "GB 13271-2014",
        "source_table": None,
    }
    base.update(kw)
    return permits.Limit(**base)


def test_limit_rule_at_the_limit_and_a_hair_above() -> None:
    plain = _limit()
    assert not plain.exceeded_by(Decimal("30")) and not plain.exceeded_by(Decimal("30.000"))
    assert plain.exceeded_by(Decimal("30.0000001"))
    # 折算 (issue 10's case): 28.0 mg/m³ at 9.8 % O₂, reference 9 %: 28 × 12 / 11.2 = 30 exactly
    boiler = _limit(o2_ref=Decimal("9"))
    assert not boiler.exceeded_by(Decimal("28.0"), o2=Decimal("9.8"))
    assert boiler.exceeded_by(Decimal("28.001"), o2=Decimal("9.8"))
    assert 28.0 * 12 / 11.2 > 30  # what binary floating point would have said
    # the device's own converted value wins over a conversion from O₂
    assert not boiler.exceeded_by(Decimal("99"), converted=Decimal("30"), o2=Decimal("20"))
    assert boiler.exceeded_by(Decimal("1"), converted=Decimal("30.01"))
    # no O₂ and no converted value: the measured value is judged; O₂ ≥ 21 is not usable
    assert boiler.exceeded_by(Decimal("30.1"), o2=Decimal("21"))
    assert not boiler.exceeded_by(Decimal("30"))
    ph = _limit(pollutant="w01001", upper=Decimal("9"), lower=Decimal("6"), basis=Basis.DAY)
    assert not ph.exceeded_by(Decimal("6")) and not ph.exceeded_by(Decimal("9.0"))
    assert ph.exceeded_by(Decimal("5.99")) and ph.exceeded_by(Decimal("9.01"))


decimal_text = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("100000"), places=3, allow_nan=False
)


@given(decimal_text, decimal_text.filter(lambda x: x > 0), st.decimals("0", "20.9", places=1))
def test_converted_comparison_equals_exact_rational_arithmetic(
    value: Decimal, limit: Decimal, o2: Decimal
) -> None:
    for ref in (Decimal("3.5"), Decimal("9"), Decimal("18")):
        lim = _limit(upper=limit, o2_ref=ref)
        exact = Fraction(value) * (21 - Fraction(ref)) / (21 - Fraction(o2))
        assert lim.exceeded_by(value, o2=o2) == (exact > Fraction(limit))
    assert _limit(upper=limit).exceeded_by(value) == (value > limit)


@given(st.integers(1, 10**6), st.integers(0, 6))
def test_a_value_equal_to_the_limit_in_any_notation_complies(units: int, places: int) -> None:
    limit = Decimal(units).scaleb(-places)
    padded = Decimal(f"{limit:.{places + 3}f}")  # trailing zeros: the same number
    assert not _limit(upper=limit).exceeded_by(padded)
    assert _limit(upper=limit).exceeded_by(padded + Decimal(1).scaleb(-(places + 3)))


def test_measured_text_is_exact_or_refused() -> None:
    assert permits.measured("30.10") == Decimal("30.10")
    assert permits.measured(None) is None
    for bad in ("NaN", "inf", "-Infinity", "abc", ""):
        assert permits.measured(bad) is None


def test_permits_write_read_and_validity(engine: Engine) -> None:
    _regions(engine, ("620200", "嘉峪关市", "city", None))
    ent = _outlet(engine)
    other = _outlet(engine, code="E2/DA001", mn="620200111002BBBBBBBBBBBB")
    with session_scope(engine) as s:
        site = s.scalars(select(Site.id).where(Site.code == "E1/DA001")).one()
        other_site = s.scalars(select(Site.id).where(Site.code == "E2/DA001")).one()
        p = permits.save_permit(
            s,
            enterprise_id=ent,
            number="91620200000000001A001P",
            management_class="重点管理",
            valid_from=date(2024, 1, 1),
            valid_to=date(2028, 12, 31),
        )
        spec = LimitSpec(
            site_id=site,
            pollutant="a21026",
            limit="200.0",
            unit="mg/m³",
            basis=Basis.HOUR,
            standard="GB 13271-2014 锅炉大气污染物排放标准",
            source_table="表2（燃煤锅炉）",
            o2_ref="9.0",
        )
        assert permits.replace_limits(s, p, [spec]) == 1
        assert permits.replace_annual_amounts(s, p, {("a21026", 2026): "12.345"}) == 1
        for bad, message in (
            (replace(spec, site_id=other_site), "another enterprise"),
            (replace(spec, pollutant="SO2"), "HJ 212-2017"),
            (replace(spec, limit="-1"), "positive"),
            (replace(spec, limit="三百"), "not a decimal"),
            (replace(spec, limit="Infinity"), "finite"),
            (replace(spec, o2_ref="21"), "reference O₂"),
            (replace(spec, lower="300"), "lower limit"),
            (replace(spec, basis="月均值"), "averaging basis"),
        ):
            with pytest.raises(PermitError, match=message):
                permits.replace_limits(s, p, [bad])
        with pytest.raises(PermitError, match="twice"):
            permits.replace_limits(s, p, [spec, spec])
        with pytest.raises(PermitError, match="management class"):
            permits.save_permit(
                s,
                enterprise_id=ent,
                number="X",
                management_class="重点",
                valid_from=date(2024, 1, 1),
                valid_to=None,
            )
        with pytest.raises(PermitError, match="another enterprise"):
            permits.save_permit(
                s,
                enterprise_id=other,
                number="91620200000000001A001P",
                management_class="重点管理",
                valid_from=date(2024, 1, 1),
                valid_to=None,
            )
    with session_scope(engine) as s:
        by_mn = permits.limits_by_mn(s, date(2026, 6, 1))
        (lim,) = by_mn["620200111001AAAAAAAAAAAA"]
        assert (lim.pollutant, lim.upper, lim.o2_ref, lim.basis) == (
            "a21026",
            Decimal("200.0"),
            Decimal("9.0"),
            Basis.HOUR,
        )
        assert lim.permit_number == "91620200000000001A001P" and lim.source_table
        assert "620200111002BBBBBBBBBBBB" not in by_mn  # no permit, no limits
        assert permits.limits_by_mn(s, date(2029, 1, 1)) == {}  # expired
        assert permits.limits_by_site(s, date(2023, 12, 31)) == {}  # not yet in force
        (info,) = permits.permits_of(s, ent)
        assert info.management_class == "重点管理" and info.limits == (lim,)
        assert info.annual_amounts == {("a21026", 2026): (Decimal("12.345"), "t/a")}


def test_reports_default_to_the_deployment_region_and_its_notice(engine: Engine) -> None:
    from qingshan.services.reports.content import default_region, simulated_notice
    from qingshan.services.reports.model import ReportError

    _regions(
        engine,
        ("620800", "平凉市", "city", None),
        ("620802", "崆峒区", "county", "620800"),
        ("620821", "泾川县", "county", "620800"),
    )
    with session_scope(engine) as s:
        with pytest.raises(ReportError, match="--region"):
            default_region(s)
        assert simulated_notice(s) is None
        deployment.set_own_region(s, "620821", data_notice="【模拟数据】测试")
        assert default_region(s) == "620821" and simulated_notice(s) == "【模拟数据】测试"


def test_conversion_stays_exact_beyond_decimal_precision() -> None:
    boiler = _limit(upper=Decimal("30"), o2_ref=Decimal("9"))
    hair = Decimal("28.000000000000000000000000000001")  # × 12 / 11.2 = 30 + 1.07e-30
    assert boiler.exceeded_by(hair, o2=Decimal("9.8"))
    assert not boiler.exceeded_by(Decimal("28"), o2=Decimal("9.8"))
    # Decimal's default 28-digit context would have rounded the hair away
    assert not hair * 12 > Decimal("30") * Decimal("11.2")
