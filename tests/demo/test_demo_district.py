import shutil
from collections import Counter
from pathlib import Path

import pytest

from qingshan.demo.district import DistrictDataError, load_district, load_district_from
from qingshan.geo import haversine_m, point_in_polygons

DATA = Path(__file__).resolve().parents[2] / "src" / "qingshan" / "demo" / "data"


def test_identity_and_codes() -> None:
    d = load_district()
    assert (d.code, d.name) == ("620802", "崆峒区")
    assert (d.city.code, d.city.name) == ("620800", "平凉市")
    assert (d.province.code, d.province.name) == ("620000", "甘肃省")
    assert d.counties[0].code == "620802" and len(d.counties) == 7
    names = {t.name for t in d.townships}
    assert {"东关街道", "中街街道", "西郊街道", "崆峒镇", "四十里铺镇", "峡门乡"} <= names
    assert Counter(t.kind for t in d.townships) == {"街道": 3, "镇": 7, "乡": 10, "类似乡级单位": 1}
    for t in d.townships:
        assert t.code.startswith("620802") and len(t.code) == 9 and t.code12 == t.code + "000"


def test_every_site_inside_boundary_and_not_in_neighbours() -> None:
    d = load_district()
    pts = [(s.id, s.lon, s.lat) for s in (*d.sections, *d.water_sources, *d.groundwater)]
    pts += [(s.id, s.lon, s.lat) for s in (*d.air_stations, *d.micro_stations)]
    pts += [(s.id, s.lon, s.lat) for s in (*d.noise_stations, *d.enterprises)]
    pts += [(t.code, t.lon, t.lat) for t in d.townships]
    assert len(pts) == 3 + 10 + 4 + 5 + 40 + 5 + 24 + 21
    for sid, lon, lat in pts:
        assert d.contains(lon, lat), sid
        for code, shape in d.neighbour_boundaries.items():
            assert not point_in_polygons(lon, lat, shape), (sid, code)


def test_counts_match_the_plan() -> None:
    d = load_district()
    assert [s.name for s in d.sections] == ["泾河八里桥", "泾河平镇桥", "王村大桥"]
    assert {s.name: s.control_level for s in d.sections} == {
        "泾河平镇桥": "国控",
        "泾河八里桥": "省控",
        "王村大桥": "市控",
    }
    assert all(s.target_class == "Ⅲ" for s in d.sections)
    city = [s.name for s in d.water_sources if s.level == "城市"]
    town = [s.name for s in d.water_sources if s.level == "乡镇"]
    assert city == ["养子寨水源地", "景家庄水源地", "南部山区水源地", "韩家沟水源地"]
    assert [n[:-3] for n in town] == ["峡门", "上杨", "白水", "花所", "草峰", "安国"]
    assert [g.name for g in d.groundwater] == ["南部山区", "水桥沟", "十里铺", "米家湾"]
    assert len(d.micro_stations) == 40
    # the plan: 在中心城区布设40个“微型”站点 — all within a few km of the city centre
    for m in d.micro_stations:
        assert haversine_m(m.lon, m.lat, 106.668, 35.545) < 8000, m.id
    assert len({m.township for m in d.micro_stations}) == 5
    air23 = [e for e in d.enterprises if e.on_air_platform]
    assert len(air23) == 23
    assert Counter(e.control_level for e in air23) == {"国控": 3, "省市控": 4, "区控": 16}
    assert all(any(o.medium == "gas" for o in e.outlets) for e in air23)
    assert any(o.medium == "water" for e in air23 for o in e.outlets)  # the paper mill


def test_devices_and_limits() -> None:
    d = load_district()
    devices = d.devices()
    mns = [dev.mn for _, dev in devices]
    assert len(mns) == len(set(mns))
    assert all(len(m) == 24 and set(m) <= set("0123456789ABCDEF") for m in mns)
    assert all(len(dev.password) == 6 for _, dev in devices)
    limits = {(e.industry_code, o.code): o for e, o in d.outlets()}
    kiln = limits[("3011", "DA001")]
    assert (kiln.limit("a21002"), kiln.category.o2_ref) == (400.0, 10.0)
    assert limits[("4620", "DW001")].limit("w21003") == 5.0
    assert limits[("2221", "DW001")].limit("w01018") == 80.0
    brick = next(o for e, o in d.outlets() if e.industry_code == "3031" and o.limit("a21002"))
    assert brick.category.o2_ref == 18.0 and brick.limit("a34013") == 30.0
    assert kiln.limit("w01018") is None


def test_everything_says_simulated() -> None:
    d = load_district()
    assert "模拟数据" in d.simulated_notice
    assert all("虚构" in e.name for e in d.enterprises)
    assert all("模拟" in s.name for s in (*d.micro_stations, *d.noise_stations))
    assert all("示意" in s.name and not s.name_is_real for s in d.air_stations)
    records = (*d.sections, *d.water_sources, *d.groundwater, *d.air_stations)
    records += (*d.micro_stations, *d.noise_stations, *d.enterprises)
    assert all("模拟数据" in r.note for r in records)


def test_editions() -> None:
    d = load_district()
    editions = Counter(dev.edition for _, dev in d.devices())
    assert editions["2005"] == 2 and editions["2025"] == 4 and editions["2017"] == 86
    for e, o in d.outlets():
        if o.device.edition == "2005":
            assert all(d.pollutants[p].code_2005 for p in o.pollutants), (e.id, o.code)


def test_note_must_say_simulated(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    p = root / "sites.toml"
    text = p.read_text(encoding="utf-8").replace(
        'note = "名称取自规划；位置为示意；监测数据为模拟数据"', 'note = "真实数据"', 1
    )
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DistrictDataError, match="section WS01: note must say"):
        load_district_from(root)


def test_2005_device_needs_2005_codes(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    p = root / "pollutants.toml"
    text = p.read_text(encoding="utf-8").replace('code_2005 = "S08"\n', "")
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DistrictDataError, match=r"E10 outlet DA001: a 2005-edition device"):
        load_district_from(root)


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(DATA, dst)
    return dst


def test_site_outside_boundary_is_named(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    p = root / "sites.toml"
    p.write_text(p.read_text(encoding="utf-8").replace("lon = 106.7150", "lon = 108.7150"))
    with pytest.raises(DistrictDataError, match=r"section WS01: .* outside the district"):
        load_district_from(root)


def test_bad_mn_is_named(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    p = root / "enterprises.toml"
    text = p.read_text(encoding="utf-8").replace('mn = "62080211100108BE156393D8"', 'mn = "XYZ"')
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DistrictDataError, match=r"E01 outlet DA001: MN 'XYZ' must be 24"):
        load_district_from(root)


def test_unknown_limit_category_and_missing_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    p = root / "enterprises.toml"
    p.write_text(
        p.read_text(encoding="utf-8").replace("GB4915-2013/水泥窑", "GB0-0/无"), encoding="utf-8"
    )
    with pytest.raises(DistrictDataError, match="unknown limit category 'GB0-0/无'"):
        load_district_from(root)
    (root / "pollutants.toml").unlink()
    with pytest.raises(DistrictDataError, match=r"'pollutants\.toml' not found"):
        load_district_from(root)


def test_reference_o2_agrees_with_the_standards_engine() -> None:
    from qingshan.standards.emissions import reference_o2

    engine = {
        "GB13271-2014/燃煤锅炉": "boiler-coal",
        "GB13271-2014/燃气锅炉": "boiler-oil-gas",
        "GB4915-2013/水泥窑": "cement-kiln",
        "GB29620-2013/人工干燥及焙烧": "brick-kiln",
    }
    cats = {o.category.id: o.category for _, o in load_district().outlets()}
    with_ref = {cid for cid, c in cats.items() if c.o2_ref is not None}
    assert with_ref == set(engine)
    for cid, fid in engine.items():
        assert cats[cid].o2_ref == reference_o2(fid).o2_ref


def test_limits_and_targets_keep_the_written_digits() -> None:
    d = load_district()
    cats = {o.category.id: o.category for _, o in d.outlets()}
    coal = cats["GB13271-2014/燃煤锅炉"]
    assert coal.limit_texts == {"a34013": "50.0", "a21026": "300.0", "a21002": "300.0"}
    assert coal.o2_ref_text == "9.0" and coal.ph_range_texts is None
    wwtp = cats["GB18918-2002/一级A"]
    assert wwtp.limit_texts["w21011"] == "0.5" and wwtp.ph_range_texts == ("6.0", "9.0")
    assert all(float(t) == coal.limits[k] for k, t in coal.limit_texts.items())
    (target,) = d.targets
    assert (target.indicator, target.value, target.unit, target.comparison) == (
        "good_day_ratio",
        "96.7",
        "%",
        "at_least",
    )
    assert (target.year_from, target.year_to) == (2021, None) and "崆峒区" in target.source


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("value = 96.7", 'value = "96.7"', "value must be a number"),
        ('comparison = "at_least"', 'comparison = "above"', "comparison 'above'"),
        ("year_from = 2021", "year_from = 2021\nyear_to = 2020", "year_from / year_to"),
        ('source = "崆峒区', 'sauce = "崆峒区', "missing field 'source'"),
    ],
)
def test_bad_targets_are_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    root = _copy(tmp_path)
    p = root / "targets.toml"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DistrictDataError, match=f"targets.toml target #1: {message}"):
        load_district_from(root)


def test_bad_o2_reference_is_named(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    p = root / "emission_limits.toml"
    p.write_text(p.read_text(encoding="utf-8").replace("o2_ref = 9.0", "o2_ref = 21.0", 1))
    with pytest.raises(DistrictDataError, match="category #1: o2_ref must be"):
        load_district_from(root)
