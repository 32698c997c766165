"""`qingshan water classify`: the CSV contract of issue 4."""

from __future__ import annotations

import csv
import io

from typer.testing import CliRunner

from qingshan.cli.main import app

runner = CliRunner()


def _run(text: str, *args: str) -> tuple[int, list[dict[str, str]], str]:
    result = runner.invoke(app, ["water", "classify", *args], input=text)
    rows = list(csv.DictReader(io.StringIO(result.stdout))) if result.exit_code == 0 else []
    return result.exit_code, rows, result.output


def test_classify_appends_class_status_and_failing_items() -> None:
    text = (
        "station,waterbody,ph,do,codmn,nh3n,tp,tn,fc\n"
        "A,river,7.5,6.5,3.2,0.4,0.12,2.0,\n"
        "B,lake,7.5,6.5,3.2,0.4,0.12,2.0,\n"
        "C,river,,,,,,,\n"
        "D,river,7,1.5,16,2.5,0.5,,50000\n"
    )
    code, rows, _ = _run(text, "--standard", "GB3838-2002")
    assert code == 0
    assert [r["station"] for r in rows] == ["A", "B", "C", "D"]
    assert [(r["class"], r["status"], r["failing_items"]) for r in rows] == [
        ("III", "良好", ""),
        ("V", "中度污染", "tp"),
        ("", "", ""),
        ("劣V", "重度污染", "do;codmn;nh3n;tp"),
    ]
    assert rows[0]["tn"] == "2.0"  # input columns pass through unchanged


def test_include_tn_counts_lake_nitrogen() -> None:
    code, rows, _ = _run("waterbody,codmn,tn\nlake,3,1.8\nriver,3,1.8\n", "--include-tn")
    assert code == 0
    assert [r["class"] for r in rows] == ["V", "II"]
    assert rows[0]["failing_items"] == "tn"


def test_auto_standard_uses_the_time_column() -> None:
    code, rows, _ = _run("time,waterbody,cod\n2024-05-01T08:00,river,16\n", "--standard", "auto")
    assert code == 0 and rows[0]["class"] == "III"
    code, _, out = _run("waterbody,cod\nriver,16\n", "--standard", "auto")
    assert code == 2 and "time" in out


def test_bad_input_names_the_line_and_exits_non_zero() -> None:
    cases = {
        "waterbody,codmn\nriver,abc\n": "line 2: column 'codmn'",
        "waterbody,codmn\nriver,1\nriver,-1\n": "line 3: codmn",
        "waterbody,codmn\nsea,1\n": "waterbody 'sea'",
        "codmn\n1\n": "missing required column 'waterbody'",
        "waterbody,codmn,class\nriver,1,I\n": "output column",
        "waterbody,codmn\nriver,1,2\n": "more cells",
        "": "no CSV header",
    }
    for text, message in cases.items():
        code, _, out = _run(text)
        assert code == 2, text
        assert message in out, (text, out)
        assert "Traceback" not in out


def test_unknown_standard_is_refused() -> None:
    code, _, out = _run("waterbody,codmn\nriver,1\n", "--standard", "GB3838-1988")
    assert code == 2 and "known: GB3838-2002" in out


def test_item_columns_are_the_issue_contract() -> None:
    from qingshan.cli.water import ITEM_COLUMNS

    contract = "ph,do,codmn,cod,bod5,nh3n,tp,tn,cu,zn,f,se,as,hg,cd,cr6,pb,cn,vp,oil,las,s2,fc"
    assert ",".join(ITEM_COLUMNS) == contract


def test_help_is_available() -> None:
    result = runner.invoke(app, ["water", "classify", "--help"])
    assert result.exit_code == 0 and "waterbody" in result.output


def test_gb18030_and_bom_input_is_read_and_output_is_utf8() -> None:
    gbk = "station,waterbody,codmn\n西湖村,river,7\n".encode("gb18030")
    result = runner.invoke(app, ["water", "classify"], input=gbk)
    assert result.exit_code == 0
    assert result.stdout_bytes.decode("utf-8").splitlines()[1] == "西湖村,river,7,IV,轻度污染,codmn"
    bom = "\ufeffwaterbody,codmn\nriver,1\n".encode()
    result = runner.invoke(app, ["water", "classify"], input=bom)
    assert result.exit_code == 0 and result.stdout.startswith("waterbody,codmn,class")


def test_values_are_read_exactly_and_non_numbers_refused() -> None:
    # 0.2 mg/L TP is exactly the Class Ⅲ limit, however many trailing zeros it is written with.
    code, rows, _ = _run("waterbody,tp\nriver,0.2\nriver,0.200000000000000000001\nriver,0.20\n")
    assert code == 0 and [r["class"] for r in rows] == ["III", "IV", "III"]
    for cell in ("nan", "NaN", "inf", "-Infinity", "1e"):
        code, _, out = _run(f"waterbody,tp\nriver,{cell}\n")
        assert code == 2 and "line 2: column 'tp'" in out, cell
