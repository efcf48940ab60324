"""Red-team round on issue 18: inputs the hostile suite did not cover, each a defect found."""

from __future__ import annotations

import pytest

from assets.ingest import limits as lim
from tests.hostile.test_reader_cases import workbook


def _sheet(rows: int, cols: int = 5) -> bytes:
    return b"".join(
        b'<row r="%d">' % r
        + b"".join(
            b'<c r="%s%d"><v>1</v></c>' % (lim.column_letters(c).encode(), r)
            for c in range(1, cols + 1)
        )
        + b"</row>"
        for r in range(1, rows + 1)
    )


@pytest.mark.parametrize(("sheets", "rows"), [(60, 2000), (500, 30)])
def test_many_ordinary_sheets_are_not_refused_by_their_fast_bounds(sheets, rows):
    """The fast bound of a sheet of 2,000 rows is 9,999 × 26 cells, of 30 rows 999 × 26: 60 (or
    500) such sheets, 600,000 (75,000) cells in all, once added up to over the 10,000,000-cell
    workbook limit and the workbook was refused. The bounds are settled exactly first."""
    data = workbook([(f"S{i}", _sheet(rows)) for i in range(sheets)])
    lim.check_zip("many_sheets.xlsx", data, lim.Limits())


def test_a_workbook_really_over_the_limit_is_still_refused_after_settling():
    data = workbook([(f"S{i}", _sheet(2000)) for i in range(60)])  # 600,000 cells in all
    with pytest.raises(lim.UnreadableFile, match="DXLAKE_MAX_WORKBOOK_CELLS"):
        lim.check_zip("many_sheets.xlsx", data, lim.Limits(max_workbook_cells=500_000))
