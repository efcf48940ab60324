"""Every old unit of the July 2025 crosswalk, written as an office writes it: its old name with its
old district (and sometimes its old province), the new province in the province column.

The expected current unit(s) come from the dvhcvn/20250701 crosswalk in ../shared/data
(`dvhcvn_20250701_splits_old_to_new.json`), independent of the package the gazetteer uses. That
crosswalk carries no districts: each old unit's district is taken from the package's old register
by the old unit's code (10,035 of 10,047; the other 12 are written without one).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from geo.gazetteer import Gazetteer, Match
from geo.units import legacy_units

SHARED = Path(os.environ.get("DXLAKE_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared"))
DATA = SHARED / "data" if (SHARED / "data").is_dir() else SHARED
SPLITS_JSON = DATA / "dvhcvn_20250701_splits_old_to_new.json"

# The one known discrepancy between the 1027 document and the register (SOURCES.md): Xã Ia Mơ.
CODE_FIXES = {"23737": "23938"}

_ABBREVIATED_UNIT = {"Xã": "X.", "Phường": "P.", "Thị trấn": "TT."}
_ABBREVIATED_DISTRICT = {"Huyện": "H.", "Quận": "Q.", "Thị xã": "TX.", "Thành phố": "TP."}


def _abbreviate(name: str, table: dict[str, str]) -> str:
    for word, short in table.items():
        if name.startswith(word + " "):
            return short + " " + name[len(word) + 1 :]
    return name


def written(i: int, name: str, district: str | None, old_province: str, new_province: str):
    """(name cell, province cell) as offices write them, one of five shapes by turn."""
    if district is None:
        return name, old_province
    shape = i % 5
    if shape == 0:
        return f"{name}, {district}", new_province
    if shape == 1:
        return f"{name} - {_abbreviate(district, _ABBREVIATED_DISTRICT)}", new_province
    if shape == 2:
        return f"{_abbreviate(name, _ABBREVIATED_UNIT)}, {district.lower()}", new_province
    if shape == 3:
        return name, f"{district}, {new_province}"
    return f"{name}, {district.lower()}, {old_province}", new_province


def codes(match: Match) -> set[str]:
    return {code for code, _ in match.candidates}


def test_every_old_unit_with_its_old_district() -> None:
    """Resolve all 10,047 old units; the expected units are dvhcvn's. Where the package's
    crosswalk (what the gazetteer knows, `resolve(code=old code)`) sends the old unit elsewhere,
    the answer is counted as "crosswalks disagree" if it follows the package: no matching error.
    """
    gz = Gazetteer.default()
    splits = json.loads(SPLITS_JSON.read_text(encoding="utf-8"))["data"]
    districts = dict(
        legacy_units().select("old_unit_code", "old_district_name").drop_nulls().iter_rows()
    )
    tally: Counter[str] = Counter()
    listed: dict[str, list] = {}
    i = 0
    for province in splits:
        (new_province,) = {s["name"] for s in province["splits"]}
        for unit in province["level3s"]:
            targets = {CODE_FIXES.get(s["new_id"], s["new_id"]) for s in unit["splits"]}
            package = set(gz.old_unit_targets(unit["level3_id"]))  # where the package sends it
            name_cell, province_cell = written(
                i, unit["name"], districts.get(unit["level3_id"]), province["name"], new_province
            )
            i += 1
            match = gz.resolve(name=name_cell, province=province_cell)
            found = codes(match)
            if match.match_kind == "unknown":
                kind = "unknown"
            elif match.unit_code is not None and targets == {match.unit_code}:
                kind = "exact"
            elif match.unit_code is None and len(targets) > 1 and found == targets:
                kind = "correctly ambiguous"
            elif package and package != targets and found == package:
                kind = "crosswalks disagree, as the package says"
            elif match.unit_code is None and targets <= found:
                kind = "ambiguous, the target(s) among more candidates"
            else:
                kind = "wrong"
            tally[kind] += 1
            listed.setdefault(kind, []).append(
                (name_cell, province_cell, sorted(targets), sorted(package), match.candidates)
            )
            if len(package) > 1:  # split per the package: always ambiguous with all its parts
                assert match.match_kind == "ambiguous" and found == package, listed[kind][-1]

    print("\nold units with their old district (of 10,047):", dict(sorted(tally.items())))
    for kind in sorted(listed.keys() - {"exact", "correctly ambiguous"}):
        print(f"{kind}:", *listed[kind][:30], sep="\n  ")
    assert i == 10047
    assert tally["wrong"] == 0, listed["wrong"]
    assert tally["exact"] + tally["correctly ambiguous"] >= 0.99 * 10047
