"""Turn one sheet's table into observations: a source row × an indicator, with its lineage."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from operator import itemgetter

from openpyxl.utils import column_index_from_string, get_column_letter

from geo.text import fold
from schemas.catalogue import Catalogue

from .headers import STRUCTURAL, indicator_names, normalise_header, stated_field
from .layout import FigureRows, TableLayout, row_kind
from .numbers import format_cell, parse_number
from .titles import parse_period


def _cell(row: list[object], j: int | None) -> object:
    if j is None or j >= len(row):
        return None
    return row[j]


def _figures(row: list[object], cols: dict[str, int | None]) -> dict[str, object]:
    """Raw text and parsed numbers of the numerator, denominator and stated value of one indicator."""
    out: dict[str, object] = {}
    errors = []
    letters = []
    for part in ("numerator", "denominator", "value"):
        j = cols.get(part)
        raw = _cell(row, j)
        parsed = parse_number(raw)
        out[f"{part}_raw"] = format_cell(raw)
        out[part if part != "value" else "value_stated"] = parsed.value
        if parsed.error is not None:
            errors.append(f"{get_column_letter(j + 1)}: {parsed.error}")
        if j is not None and raw is not None:
            letters.append(get_column_letter(j + 1))
    out["parse_error"] = "; ".join(errors) or None
    out["source_column"] = "/".join(letters) or None
    return out


def sheet_observations(
    rows: list[list[object]],
    layout: TableLayout,
    catalogue: Catalogue,
    *,
    sheet_name: str,
    province_hint: str | None,
    period_hint: str | None,
) -> Iterator[dict[str, object]]:
    """Yield one dict per observation read from a sheet's table (lineage added by the caller)."""
    by_id = {col: j for j, col in layout.columns.items()}
    code_j, name_j = by_id.get("unit_code"), by_id.get("unit_name")
    province_j, period_j = by_id.get("province"), by_id.get("period")
    wide = _wide_columns(tuple(sorted(by_id.items())), catalogue)
    names = indicator_names(catalogue)
    # A template sent to every commune of a province comes back with one row filled: a row
    # empty in every column the table reads but the unit's yields nothing, so skip it unclassified.
    # This loop runs for every row of every file, so the test is two C-level counts: the row's
    # filled cells, and (for rows with at most 3) those outside the columns read as figures.
    data_js = {j for j, c in layout.columns.items() if c not in ("unit_code", "unit_name")}
    outside_of: dict[int, Callable[[list[object]], tuple]] = {}  # row width → picker
    for i in range(layout.first_data_row, layout.end or len(rows)):
        row = rows[i]
        filled = len(row) - row.count(None)
        if filled <= 3:
            outside = outside_of.get(len(row))
            if outside is None:
                outside = outside_of[len(row)] = _picker(
                    [j for j in range(len(row)) if j not in data_js]
                )
            cells = outside(row)
            if len(cells) - cells.count(None) == filled:
                # every filled cell is outside the figures: nothing to read, unless it is a
                # whole row crammed into one cell (read, and quarantined: see _unsplit_row)
                if filled == 1:
                    yield from _unsplit_row(
                        row, i, layout, wide, sheet_name, province_hint, period_hint
                    )
                continue
        kind = row_kind(row, layout)
        if kind == "signature":
            break
        if kind != "unit":
            continue
        base = {
            "source_sheet": sheet_name,
            "source_row": i + 1,
            "unit_code_raw": format_cell(_cell(row, code_j)),
            "unit_name_raw": format_cell(_cell(row, name_j)),
            "province_raw": format_cell(_cell(row, province_j)) or province_hint,
            "reported_period": parse_period(_cell(row, period_j)) or period_hint,
        }
        if layout.shape == "long":
            raw_indicator = _cell(row, by_id["indicator"])
            indicator_id = names.get(normalise_header(raw_indicator))
            cols = {p: by_id.get(p) for p in ("numerator", "denominator", "value")}
            figures = _figures(row, cols)
            if raw_indicator is None and figures["source_column"] is None:
                continue
            yield {**base, **figures, "indicator_id": indicator_id or f"?{fold(raw_indicator)}"}
            continue
        for indicator_id, cols in wide:
            figures = _figures(row, cols)
            if figures["source_column"] is None:
                continue  # this unit gave no figure for this indicator
            yield {**base, **figures, "indicator_id": indicator_id}


_DELIMITERS = (",", ";", "\t", "|")


def _unsplit_row(
    row: list[object],
    i: int,
    layout: TableLayout,
    wide: tuple[tuple[str, dict[str, int | None]], ...],
    sheet_name: str,
    province_hint: str | None,
    period_hint: str | None,
) -> list[dict[str, object]]:
    """A CSV row split by another delimiter than the header's ("00004,Ba Đình,20,18" under
    "Mã xã;Tên xã;..."): its one filled cell holds at least three delimited parts, two of them
    numbers. Its figures are not guessed: each indicator the table reads gets an observation
    with the row's text as its parse error, which validation quarantines, so the row is
    accounted for instead of vanishing. The unit is taken from the split cells, so the row
    reaches its province's return-to-sender workbook. Called for rows of one filled cell only
    (a template's unfilled rows have two: a national period has hundreds of thousands)."""
    j, cell = next((j, c) for j, c in enumerate(row) if c is not None)
    if not isinstance(cell, str):
        return []
    delimiter = max(_DELIMITERS, key=cell.count)
    parts = [p.strip() or None for p in cell.split(delimiter)]
    if len(parts) < 3 or sum(1 for p in parts if p and parse_number(p).value is not None) < 2:
        return []
    by_id = {col: k for k, col in layout.columns.items()}
    letter = get_column_letter(j + 1)
    base = {
        "source_sheet": sheet_name,
        "source_row": i + 1,
        "unit_code_raw": format_cell(_cell(parts, by_id.get("unit_code"))),
        "unit_name_raw": format_cell(_cell(parts, by_id.get("unit_name"))),
        "province_raw": province_hint,
        "reported_period": period_hint,
        "numerator_raw": None,
        "denominator_raw": None,
        "value_raw": None,
        "numerator": None,
        "denominator": None,
        "value_stated": None,
        "parse_error": f"{letter}: dòng không tách thành cột như dòng tiêu đề / the row's cells "
        f"are not split like the header's (by {delimiter!r}): {cell[:200]}",
        "source_column": letter,
    }
    if layout.shape == "long":
        return [{**base, "indicator_id": "?"}]
    return [{**base, "indicator_id": indicator_id} for indicator_id, _ in wide]


@lru_cache(maxsize=1024)
def _wide_columns(
    by_id: tuple[tuple[str, int], ...], catalogue: Catalogue
) -> tuple[tuple[str, dict[str, int | None]], ...]:
    """(indicator id, {numerator/denominator/value: column}) of each indicator a wide table reads.

    An indicator is read when the table has a column of its own: a denominator it shares with
    a fuller indicator ("Tổng số CBCC" under "Số CBCC có máy tính") is not a report of it.
    Memoised by header: a province's template comes back with the same one from every commune."""
    columns = dict(by_id)
    present = {ind.id: {f.id for f in ind.fields if f.id in columns} for ind in catalogue}
    return tuple(
        (ind.id, {p: columns.get(f.id) if f else None for p, f in _parts(ind)})
        for ind in catalogue
        if present[ind.id] and not any(present[ind.id] < other for other in present.values())
    )


def _parts(ind):
    return (
        ("numerator", ind.numerator),
        ("denominator", ind.denominator),
        ("value", stated_field(ind)),
    )


def _picker(js: list[int]) -> Callable[[list[object]], tuple]:
    """A function returning the cells at `js` as a tuple (itemgetter, whatever len(js) is)."""
    if not js:
        return lambda row: ()
    if len(js) == 1:
        get = itemgetter(js[0])
        return lambda row: (get(row),)
    return itemgetter(*js)


_LETTERS = re.compile(r"\b([A-Z]{1,3}): ")


def transposed_lineage(obs: dict[str, object]) -> dict[str, object]:
    """An observation read from a transposed table's grid, with its lineage in the sheet: the
    grid's row is the sheet's column (the unit's), its columns the sheet's rows (the figures').
    source_row is the first figure's row; `_cell` ("C5") keeps the units of one row apart in
    the observation's id."""
    letter = get_column_letter(int(obs["source_row"]))
    rows = [column_index_from_string(c) for c in str(obs["source_column"] or "").split("/") if c]
    out = {**obs, "source_column": letter}
    if rows:
        out["source_row"] = rows[0]
        out["_cell"] = f"{letter}{rows[0]}"
    if obs.get("parse_error"):
        out["parse_error"] = _LETTERS.sub(
            lambda m: f"{letter}{column_index_from_string(m.group(1))}: ", str(obs["parse_error"])
        )
    return out


def figure_row_observations(
    rows: list[list[object]],
    table: FigureRows,
    *,
    sheet_name: str,
    province_hint: str | None,
    period_hint: str | None,
) -> Iterator[dict[str, object]]:
    """Observations of a table with a row per figure under each unit (see layout.FigureRows):
    the rows of one unit are those its merged name covers (`rows` filled); the numerator's row
    is the observation's source row."""
    kinds = _figure_kinds(table, rows)
    code_j = next((j for j, c in table.units.items() if c == "unit_code"), None)
    name_j = next((j for j, c in table.units.items() if c == "unit_name"), None)
    province_j = next((j for j, c in table.units.items() if c == "province"), None)
    block: dict[str, int] = {}
    key = None
    for i in [*range(table.header_row + 1, len(rows)), None]:
        row = rows[i] if i is not None else []
        unit = tuple(_cell(row, j) for j in table.units)
        kind = kinds.get(i)
        if block and (i is None or unit != key or kind is None or kind in block):
            yield from _block_observations(
                rows,
                block,
                table,
                code_j,
                name_j,
                province_j,
                sheet_name,
                province_hint,
                period_hint,
            )
            block = {}
        if kind is not None and any(c is not None for c in unit):
            block[kind], key = i, unit


def _figure_kinds(table: FigureRows, rows: list[list[object]]) -> dict[int, str]:
    """Row → the figure it holds, by its label ("Tử số", "Mau so", "Tỷ lệ (%)")."""
    labels = {
        normalise_header(h): k for k in ("numerator", "denominator", "value") for h in STRUCTURAL[k]
    }
    return {
        i: labels[t]
        for i in range(table.header_row + 1, len(rows))
        if (t := normalise_header(_cell(rows[i], table.label))) in labels
    }


def _block_observations(
    rows: list[list[object]],
    block: dict[str, int],
    table: FigureRows,
    code_j: int | None,
    name_j: int | None,
    province_j: int | None,
    sheet_name: str,
    province_hint: str | None,
    period_hint: str | None,
) -> Iterator[dict[str, object]]:
    """One unit's observations: `block` maps numerator/denominator/value to its row."""
    first = rows[min(block.values())]
    base = {
        "source_sheet": sheet_name,
        "source_row": block.get("numerator", min(block.values())) + 1,
        "unit_code_raw": format_cell(_cell(first, code_j)),
        "unit_name_raw": format_cell(_cell(first, name_j)),
        "province_raw": format_cell(_cell(first, province_j)) or province_hint,
        "reported_period": period_hint,
    }
    for j, indicator_id in table.indicators.items():
        letter = get_column_letter(j + 1)
        out: dict[str, object] = {}
        errors, cells = [], []
        for part in ("numerator", "denominator", "value"):
            i = block.get(part)
            raw = _cell(rows[i], j) if i is not None else None
            parsed = parse_number(raw)
            out[f"{part}_raw"] = format_cell(raw)
            out[part if part != "value" else "value_stated"] = parsed.value
            if parsed.error is not None:
                errors.append(f"{letter}{i + 1}: {parsed.error}")
            if raw is not None:
                cells.append(i)
        if not cells:
            continue
        yield {
            **base,
            **out,
            "parse_error": "; ".join(errors) or None,
            "source_column": letter,
            "indicator_id": indicator_id,
        }
