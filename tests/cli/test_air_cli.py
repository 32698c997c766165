"""CLI contracts: ``qingshan aqi`` and ``qingshan air evaluate``."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

from typer.testing import CliRunner

from qingshan.cli.main import app

runner = CliRunner()


def rows(output: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output)))


def test_aqi_hourly_contract() -> None:
    text = (
        "time,station,so2,no2,co,o3,pm10,pm2_5\n"
        "2026-03-10T08:00,2695A,4,12,0.9,52,191,57\n"
        "2025-03-10T08:00,2695A,4,12,0.9,52,191,57\n"
        "2023-07-15T15:00,1178A,11,8,0.5,161,53,4\n"
        "2026-03-10T08:00,X,,,,,,\n"
    )
    res = runner.invoke(app, ["aqi", "--standard", "auto", "--mode", "hourly"], input=text)
    assert res.exit_code == 0, res.output
    out = rows(res.stdout)
    assert list(out[0])[-5:] == [
        "aqi",
        "level",
        "category",
        "primary_pollutants",
        "exceeding_pollutants",
    ]
    assert out[0]["station"] == "2695A"  # input columns are kept
    assert (out[0]["aqi"], out[0]["category"], out[0]["primary_pollutants"]) == (
        "128",
        "轻度污染",
        "PM10",
    )
    assert out[0]["exceeding_pollutants"] == ""  # none under HJ 633-2026
    assert (out[1]["aqi"], out[1]["exceeding_pollutants"]) == ("121", "PM10")
    assert out[2]["primary_pollutants"] == "O3_1H;PM10"
    assert out[3]["aqi"] == "" and out[3]["level"] == ""


def test_aqi_daily_mode_and_versions() -> None:
    text = "so2,no2,co,o3,o3_8h,pm10,pm2_5\n5,20,0.6,250,150,50,30\n"
    r12 = runner.invoke(app, ["aqi", "--standard", "HJ633-2012", "--mode", "daily"], input=text)
    r26 = runner.invoke(app, ["aqi", "--standard", "HJ633-2026", "--mode", "daily"], input=text)
    assert rows(r12.stdout)[0]["aqi"] == "125"  # O3 daily max 1-hour 250 (7th indicator)
    assert rows(r12.stdout)[0]["primary_pollutants"] == "O3_1H"
    assert rows(r26.stdout)[0]["aqi"] == "92"  # O3 8-hour 150 only
    assert rows(r26.stdout)[0]["primary_pollutants"] == "O3_8H"
    bad = runner.invoke(
        app,
        ["aqi", "--mode", "daily", "--standard", "HJ633-2026"],
        input="so2,no2,co,o3,pm10,pm2_5\n1,1,1,1,1,1\n",
    )
    assert bad.exit_code == 2 and "o3_8h" in bad.stderr


def test_aqi_na_rule_and_iaqi_columns() -> None:
    text = "so2,no2,co,o3,pm10,pm2_5\n5,,0.5,30,40,20\n5,,0.5,30,40,100\n"
    res = runner.invoke(
        app, ["aqi", "--standard", "HJ633-2026", "--missing", "na-rule", "--iaqi"], input=text
    )
    out = rows(res.stdout)
    assert (out[0]["aqi"], out[0]["level"], out[0]["iaqi_pm10"]) == ("NA", "NA", "40")
    assert out[1]["aqi"] == "137" and out[1]["iaqi_no2"] == ""


def test_aqi_bad_input_messages() -> None:
    text = (
        "time,so2,no2,co,o3,pm10,pm2_5\n2026-03-10T08:00,1,-2,0.5,30,40,20\n"
        "2026-03-10T09:00,1,2,x,30,40,20\nnot-a-time,1,2,0.5,30,40,20\n"
    )
    res = runner.invoke(app, ["aqi"], input=text)
    assert res.exit_code == 2 and res.stdout == ""
    assert "line 2, column no2: negative concentration" in res.stderr
    assert "line 3, column co: not a number: 'x'" in res.stderr
    res = runner.invoke(app, ["aqi", "--standard", "auto"], input="so2,no2,co,o3,pm10,pm2_5\n")
    assert res.exit_code == 2 and "missing column(s): time" in res.stderr
    res = runner.invoke(app, ["aqi"], input="time,so2,no2,co,o3,pm10,pm2_5\nbad,1,1,1,1,1,1\n")
    assert res.exit_code == 2 and "line 2, column time: not an ISO date/time" in res.stderr
    res = runner.invoke(
        app,
        ["aqi", "--standard", "HJ633-2012"],
        input="so2,no2,co,o3,pm10,pm2_5\n1,1,1,1,1,1\n900,1,1,1,1,1\n",
    )
    assert res.exit_code == 2 and "line 3: SO2 1-hour > 800" in res.stderr
    res = runner.invoke(app, ["aqi"], input="time,aqi,so2,no2,co,o3,pm10,pm2_5\n")
    assert res.exit_code == 2 and "--prefix" in res.stderr
    res = runner.invoke(
        app,
        ["aqi", "--standard", "auto"],
        input="time,so2,no2,co,o3,pm10,pm2_5\n2010-01-01T01:00,1,1,1,1,1,1\n",
    )
    assert res.exit_code == 2 and "no HJ633 version in force on 2010-01-01" in res.stderr


def hourly_csv(days: int, pm2_5: float = 40.0) -> str:
    t0 = datetime(2025, 1, 1, 1)
    lines = ["time,so2,no2,co,o3,pm10,pm2_5"]
    for i in range(days * 24):
        t = (t0 + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{t},8,25,0.7,90,60,{pm2_5}")
    return "\n".join(lines) + "\n"


def test_air_evaluate_json() -> None:
    res = runner.invoke(app, ["air", "evaluate", "--standard", "HJ663-2013"], input=hourly_csv(31))
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["standard"] == "HJ663-2013" and out["period"]["end"] == "2025-01-31"
    assert len(out["days"]) == 31 and out["days"][0]["aqi"] == 57
    assert out["days"][0]["valid"]["PM2_5"] is True
    pm = out["pollutants"]["PM2_5"]
    assert pm["statistics"][0] == {
        "statistic": "mean",
        "name": "年平均",
        "value": 40,
        "limit": 35,
        "valid_days": 31,
        "attained": False,
        "exceedance_multiple": 0.14,
    }
    assert (out["valid_days"], out["good_days"], out["good_day_ratio"]) == (31, 31, 100)
    assert out["primary_pollutants"] == ["PM2_5"] and out["composite_index"] is not None
    r26 = runner.invoke(
        app,
        [
            "air",
            "evaluate",
            "--standard",
            "HJ663-2026",
            "--no-days",
            "--dust-days",
            "2025-01-01,2025-01-02",
        ],
        input=hourly_csv(31),
    )
    o26 = json.loads(r26.stdout)
    assert o26["pollutants"]["PM2_5"]["statistics"][0]["limit"] == 30
    assert o26["days"] == [] and o26["valid_days"] == 29 and o26["dust_days_excluded"] == 2


def test_air_evaluate_errors() -> None:
    res = runner.invoke(app, ["air", "evaluate"], input="time,so2\n")
    assert res.exit_code == 2 and "missing column(s): no2, co, o3, pm10, pm2_5" in res.stderr
    bad = hourly_csv(1).replace(",40.0\n", ",-1\n", 1)
    res = runner.invoke(app, ["air", "evaluate"], input=bad)
    assert res.exit_code == 2 and "line 2, column pm2_5: negative" in res.stderr
    dup = hourly_csv(1) + "2025-01-01 01:00,1,1,1,1,1,1\n"
    res = runner.invoke(app, ["air", "evaluate"], input=dup)
    assert res.exit_code == 2 and "duplicate hour" in res.stderr


def test_aqi_platform_policy_with_national_markers() -> None:
    # Rows of the national platform's 2026-04-20 15:00 publication (see the fixture).
    text = (
        "time,so2,no2,co,o3,pm10,pm2_5\n"
        "2026-04-20T15:00,8,NA,0.3,86,NA,12\n"  # 大庆 萨区政府监测点: published NA
        "2026-04-20T15:00,4,6,0.2,104,NA,8\n"  # 大同大学: published 33
        "2026-04-20T15:00,/,16,/,69,34,18\n"  # '/' = not in the plan: published 34
    )
    res = runner.invoke(app, ["aqi", "--missing", "platform"], input=text)
    assert res.exit_code == 0, res.stderr
    assert [r["aqi"] for r in rows(res.stdout)] == ["NA", "33", "34"]


def test_air_evaluate_hour_label_start_and_hint() -> None:
    lines = ["time,so2,no2,co,o3,pm10,pm2_5"]
    for h in range(24):
        lines.append(f"2025-01-01 {h:02d}:00,8,25,0.7,90,60,40")
    text = "\n".join(lines) + "\n"
    res = runner.invoke(app, ["air", "evaluate", "--standard", "HJ663-2013"], input=text)
    out = json.loads(res.stdout)
    assert "note: the data start at 00:00" in res.stderr
    assert [d["date"] for d in out["days"]] == ["2024-12-31", "2025-01-01"]
    res = runner.invoke(
        app, ["air", "evaluate", "--standard", "HJ663-2013", "--hour-label", "start"], input=text
    )
    out = json.loads(res.stdout)
    assert res.stderr == "" and [d["aqi"] for d in out["days"]] == [57]


def test_aqi_hourly_beside_values() -> None:
    # 实时报 indicators published beside the hourly AQI never change it.
    text = "so2,no2,co,o3,o3_8h,pm10,pm10_24h,pm2_5,pm2_5_24h\n12,61,1.4,19,24,79,56,54,33\n"
    res = runner.invoke(app, ["aqi", "--standard", "HJ633-2012", "--iaqi"], input=text)
    out = rows(res.stdout)[0]
    assert out["aqi"] == "74"  # published 万寿西宫 2022-01-04 16:00
    assert (out["iaqi_o3_8h"], out["iaqi_pm10_24h"], out["iaqi_pm2_5_24h"]) == ("12", "53", "48")


def test_air_evaluate_reports_exceedance_days_and_verdicts() -> None:
    # January 2025, PM2.5 40 µg/m³ every hour: 31 valid days, none above 75.
    out = json.loads(
        runner.invoke(
            app, ["air", "evaluate", "--standard", "HJ663-2013"], input=hourly_csv(31)
        ).stdout
    )
    assert out["verdict"] == "未达标" and out["verdict_reason"] is None  # PM2.5 mean 40 > 35
    assert out["exceedance_days"]["PM2_5"] == {
        "name": "PM₂.₅ 日平均",
        "limit": 75,
        "valid_days": 31,
        "exceedance_days": 0,
        "compliance_rate": 100.0,
    }
    assert set(out["exceedance_days"]) == {"SO2", "NO2", "CO", "PM10", "PM2_5", "O3_8H", "O3_1H"}
    # The same month with PM2.5 on 26 days only: fewer than GB 3095 表4's 27 → no verdict.
    lines = ["time,so2,no2,co,o3,pm10,pm2_5"]
    t0 = datetime(2025, 1, 1, 1)
    for i in range(31 * 24):
        t = t0 + timedelta(hours=i)
        pm = "40" if (t - timedelta(hours=1)).day <= 26 else ""  # hours labelled by their end
        lines.append(f"{t:%Y-%m-%d %H:%M},8,25,0.7,90,60,{pm}")
    res = runner.invoke(
        app, ["air", "evaluate", "--standard", "HJ663-2013"], input="\n".join(lines)
    )
    out = json.loads(res.stdout)
    assert out["period"]["kind"] == "month" and out["complete"] is False
    assert out["attained"] is None and out["verdict"] == "数据不足"
    assert out["verdict_reason"] == "PM₂.₅ 数据不足：有效日数据 26 天，少于 27 天"
    assert out["pollutants"]["PM2_5"]["attained"] is None
    assert out["pollutants"]["SO2"]["attained"] is True


def test_air_cli_refuses_values_that_cannot_be_exact() -> None:
    base = "time,so2,no2,co,o3,pm10,pm2_5\n"
    for cell, message in (
        ("nan", "not a finite number: 'nan'"),
        ("inf", "not a finite number: 'inf'"),
        ("1e400", "not a finite number: '1e400'"),
        ("12.3456789012345678", "more than 15 significant digits"),
        ("0x10", "not a number: '0x10'"),
    ):
        res = runner.invoke(app, ["aqi"], input=f"{base}2026-03-10T08:00,1,1,1,1,1,{cell}\n")
        assert res.exit_code == 2 and res.stdout == "", cell
        assert f"line 2, column pm2_5: {message}" in res.stderr, (cell, res.stderr)
    # 15 significant digits are carried exactly; trailing zeros do not count.
    ok = f"{base}2026-03-10T08:00,1,1,1,1,1,35.0000000000000000\n"
    assert runner.invoke(app, ["aqi"], input=ok).exit_code == 0
