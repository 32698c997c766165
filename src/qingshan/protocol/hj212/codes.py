"""Code tables of HJ 212, loaded from the CSV files in ``data/`` (sources cited in each file).

Tables: system codes (ST), command codes (CN), QnRtn/ExeRtn, data flags and pollutant codes
2017 ⇄ 2005 with Chinese names and units.

Code clashes inside HJ 212-2017 Appendix B: ``e701xx`` is printed for both 污水提升泵 and 加药量
(接触氧化 block) and ``g119xx`` for both 脱硫率 and 入口二氧化硫SO2. A packet cannot say which one
it means, so the code is kept verbatim; :func:`pollutant_info` returns the first printed row as
the primary meaning and lists the other one in ``alternatives`` (``ambiguous`` is true). The
site's configuration must decide per monitoring point.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources


def _rows(name: str) -> list[dict[str, str]]:
    folder = resources.files("qingshan.protocol.hj212").joinpath("data")
    text = folder.joinpath(name).read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One row of the ST or CN table."""

    code: str
    name: str
    editions: frozenset[str]
    extra: str = ""


@dataclass(frozen=True, slots=True)
class PollutantInfo:
    """One pollutant / parameter code of HJ 212-2017 Appendix B."""

    code: str
    name: str
    code_2005: str | None
    unit: str
    cou_unit: str
    data_type: str
    remark: str
    alternatives: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        """True for the two codes the 2017 table prints twice (e701xx, g119xx)."""
        return bool(self.alternatives)


@cache
def st_codes() -> Mapping[str, CodeInfo]:
    """ST system codes -> info."""
    return {
        r["st"]: CodeInfo(r["st"], r["name"], frozenset(r["editions"].split()), r["verified"])
        for r in _rows("st_codes.csv")
    }


@cache
def cn_codes() -> Mapping[str, CodeInfo]:
    """CN command codes -> info (``extra`` holds the host-side CP parameters)."""
    return {
        r["cn"]: CodeInfo(r["cn"], r["name"], frozenset(r["editions"].split()), r["host_params"])
        for r in _rows("cn_codes.csv")
    }


@cache
def qn_rtn_codes() -> Mapping[int, str]:
    """QnRtn (request answer, CN 9011) code -> Chinese meaning."""
    return {int(r["code"]): r["name"] for r in _rows("return_codes.csv") if r["kind"] == "QnRtn"}


@cache
def exe_rtn_codes() -> Mapping[int, str]:
    """ExeRtn (execution result, CN 9012) code -> Chinese meaning."""
    return {int(r["code"]): r["name"] for r in _rows("return_codes.csv") if r["kind"] == "ExeRtn"}


@cache
def data_flags() -> Mapping[str, tuple[str, str]]:
    """Data flag letter (N F M S D C T B) -> (short name, meaning in the standard's words)."""
    return {r["flag"]: (r["name"], r["meaning"]) for r in _rows("data_flags.csv")}


@cache
def _pollutant_rows() -> dict[str, list[dict[str, str]]]:
    table: dict[str, list[dict[str, str]]] = {}
    for r in _rows("pollutants.csv"):
        table.setdefault(r["code"], []).append(r)
    return table


def _info(rows: list[dict[str, str]]) -> PollutantInfo:
    r = rows[0]
    return PollutantInfo(
        code=r["code"],
        name=r["name"],
        code_2005=r["code_2005"] or None,
        unit=r["unit"],
        cou_unit=r["cou_unit"],
        data_type=r["data_type"],
        remark=r["remark"],
        alternatives=tuple(x["name"] for x in rows[1:]),
    )


@cache
def pollutant_table() -> Mapping[str, PollutantInfo]:
    """2017 code (including the ``xx``/``x`` device-number templates) -> info."""
    return {code: _info(rows) for code, rows in _pollutant_rows().items()}


@cache
def map_2005_to_2017() -> Mapping[str, str]:
    """HJ/T 212-2005 code -> HJ 212-2017 code (the standard's correspondence column)."""
    out: dict[str, str] = {}
    for code, rows in _pollutant_rows().items():
        for r in rows:
            if r["code_2005"]:
                out[r["code_2005"]] = code
    return out


@cache
def clashes() -> Mapping[str, tuple[str, ...]]:
    """Codes printed more than once in the 2017 table -> all their names, in printed order."""
    return {
        code: tuple(r["name"] for r in rows)
        for code, rows in _pollutant_rows().items()
        if len(rows) > 1
    }


def pollutant_info(code: str) -> PollutantInfo | None:
    """Look a code up; ``e10101`` matches the template ``e101xx``, ``i33312`` matches ``i3331x``."""
    table = pollutant_table()
    info = table.get(code)
    if info is not None:
        return info
    if len(code) == 6 and code[4:].isdigit():
        info = table.get(code[:4] + "xx")
        if info is not None:
            return info
    if len(code) == 6 and code[5:].isdigit():
        return table.get(code[:5] + "x")
    return None
