"""The .xlsx reader of our own (assets/ingest/xlsx.py) reads what calamine reads, cell for cell.

Each workbook here is read twice: by `read_xlsx` and by calamine (the reader it stands in for on
the hot path), and the grids must agree. The workbooks are the LibreOffice-saved fixture, one
openpyxl writes with every cell type, and hand-built ones with what Excel writes that the others
do not (rich text with phonetic guides, attributes in another order, shared formulas, the 1904
date system, hidden and chart sheets, absolute part names). Workbooks the reader must decline
are still read, by calamine, through `read_sheets`. Three property tests (hypothesis) draw any
cells under any number format, any shared strings and any cell markup.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.ingest import limits as lim
from assets.ingest import xlsx
from assets.ingest.readers import _read_spreadsheet, read_sheets

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def _trimmed(rows: list[list[object]]) -> list[list[object]]:
    """Rows without trailing empty cells and trailing empty rows: calamine's grid may be wider
    by cells that hold no value (an empty formula result), which no reader of rows sees."""
    out = [list(row) for row in rows]
    for row in out:
        while row and row[-1] is None:
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


def _ours(path: Path) -> list[tuple]:
    read = xlsx.read_xlsx(path.name, path.read_bytes(), lim.Limits(), [])
    assert read is not None, f"{path.name} was declined"
    return [(name, _trimmed(rows), hidden, sorted(merged)) for name, rows, hidden, merged in read]


def _calamine(path: Path) -> list[tuple]:
    return [
        (s.name, _trimmed(s.rows), s.hidden, sorted(s.merged))
        for s in _read_spreadsheet(path, lim.Limits())
    ]


def _workbook(
    path: Path,
    sheets: list[tuple[str, str, bytes]],
    strings: bytes | None = None,
    styles: bytes | None = None,
    workbook_pr: str = "",
    extra_rels: str = "",
    target_prefix: str = "",
) -> Path:
    """An .xlsx with `sheets` as (name, state, <sheetData> content), shared strings and styles
    XML if given, written the way Excel lays out its parts."""
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" '
        f'Target="{target_prefix}worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    if strings is not None:
        rels += f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    if styles is not None:
        rels += f'<Relationship Id="rIdY" Type="{REL}/styles" Target="styles.xml"/>'
    entries = "".join(
        f'<sheet name="{name}" sheetId="{i}"{f" state={chr(34)}{state}{chr(34)}" if state else ""} '
        f'r:id="rId{i}"/>'
        for i, (name, state, _) in enumerate(sheets, start=1)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">{workbook_pr}<sheets>{entries}</sheets>'
            "</workbook>",
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PKG}">{rels}{extra_rels}</Relationships>',
        )
        for i, (_, _, data) in enumerate(sheets, start=1):
            zf.writestr(
                f"xl/worksheets/sheet{i}.xml",
                f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><dimension ref="A1"/>'.encode()
                + b"<sheetData>"
                + data
                + b'</sheetData><mergeCells count="1"><mergeCell ref="A1:C1"/></mergeCells>'
                + b"</worksheet>",
            )
        if strings is not None:
            zf.writestr(
                "xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">'.encode() + strings + b"</sst>"
            )
        if styles is not None:
            zf.writestr(
                "xl/styles.xml", f'<styleSheet xmlns="{MAIN}">'.encode() + styles + b"</styleSheet>"
            )
    return path


STYLES = (
    b'<numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
    b'<numFmt numFmtId="165" formatCode="[h]:mm"/>'
    b'<numFmt numFmtId="166" formatCode="#,##0&quot; ng\xc6\xb0\xe1\xbb\x9di&quot;"/></numFmts>'
    b'<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/>'
    b'<xf numFmtId="14"/><xf numFmtId="165"/><xf numFmtId="166"/></cellXfs>'
)
STRINGS = (
    "<si><t>Mã đơn vị</t></si>"
    '<si><r><rPr><b/></rPr><t xml:space="preserve">Tên </t></r><r><t>đơn vị</t></r>'
    '<rPh sb="0" eb="1"><t>phonetic</t></rPh><phoneticPr fontId="1"/></si>'
    "<si><t>Tổng cộng &amp; &lt;khác&gt;_x000D_</t></si>"
    "<si/>"
    "<si><t>Dân số\nđược phủ sóng</t></si>"
).encode()


def test_excel_shaped_cells_read_as_calamine_reads_them(tmp_path: Path) -> None:
    sheet = (
        b'<row r="1" spans="1:6"><c r="A1" t="s"><v>0</v></c><c r="B1" s="0" t="s"><v>1</v></c>'
        b'<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c></row>'
        # t before s, an attribute Excel adds (cm), a shared formula, an error, a boolean
        b'<row r="3"><c r="A3" t="n" s="1"><v>46203</v></c><c r="B3" cm="1" s="2"><v>46204</v></c>'
        b'<c r="C3" s="3"><v>1.5</v></c><c r="D3" s="4"><f>SUM(E3:F3)</f><v>1234</v></c>'
        b'<c r="E3"><f t="shared" ref="E3:E4" si="0">F3*2</f><v>2</v></c>'
        b'<c r="F3" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="G3" t="b"><v>0</v></c>'
        b'<c r="H3" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="I3" t="inlineStr"><is><t>x</t></is></c>'
        b'<c r="J3" s="1"/><c r="K3" t="str"><f>""</f><v></v></c></row>'
        b'<row r="4"><c r="E4"><f t="shared" si="0"/><v>4</v></c><c r="Z4"><v>-1.5E-3</v></c></row>'
    )
    path = _workbook(tmp_path / "excel.xlsx", [("Báo cáo", "", sheet)], STRINGS, STYLES)
    ours = _ours(path)
    assert ours == _calamine(path)
    rows = ours[0][1]
    assert rows[0] == [
        "Mã đơn vị",
        "Tên đơn vị",
        "Tổng cộng & <khác>\r",
        None,
        "Dân số\nđược phủ sóng",
    ]
    assert rows[2][:9] == [dt.date(2026, 6, 30), dt.date(2026, 7, 1), dt.timedelta(hours=36),
                           1234.0, 2.0, None, False, "ab", "x"]  # fmt: skip
    assert rows[3][4] == 4.0 and rows[3][25] == -0.0015
    assert ours[0][3] == [((0, 0), (0, 2))]


def test_the_1904_date_system_hidden_sheets_and_chart_sheets(tmp_path: Path) -> None:
    cell = b'<row r="2"><c r="B2" s="1"><v>44741</v></c></row>'
    path = _workbook(
        tmp_path / "mac.xlsx",
        [("Visible", "", cell), ("Hidden", "hidden", cell), ("Very", "veryHidden", cell)],
        styles=STYLES,
        workbook_pr='<workbookPr date1904="1"/>',
        extra_rels=f'<Relationship Id="rIdC" Type="{REL}/chartsheet" Target="chartsheets/c.xml"/>',
        target_prefix="/xl/",  # absolute part names, as some generators write them
    )
    ours = _ours(path)
    assert ours == _calamine(path)
    assert [(name, hidden) for name, _, hidden, _ in ours] == [
        ("Visible", False),
        ("Hidden", True),
        ("Very", True),
    ]
    assert ours[0][1][1][1] == dt.date(2026, 6, 30)  # 44741 days after 1 January 1904


def test_files_office_software_saved_read_as_calamine_reads_them(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Kỳ báo cáo", dt.datetime(2026, 6, 30, 8, 15), dt.time(12, 30), True, 85.5, "85,5%"])
    ws.append(["=1/0", "=SUM(E1:E1)", "  đệm  ", "a\nb", -0.0, 1e20])
    ws.merge_cells("A3:B4")
    ws["A3"] = "gộp"
    hidden = wb.create_sheet("Ẩn")
    hidden.sheet_state = "hidden"
    hidden["C5"] = 7
    formats = wb.create_sheet("Formats")  # number formats Vietnamese offices use, and dates
    for i, code in enumerate(
        [
            '_-* #,##0\\ _₫_-;\\-* #,##0\\ _₫_-;_-* "-"??\\ _₫_-;_-@_-',  # accounting, đồng
            "#,##0.00 [$₫-42A]",
            '0" người"',
            "0.0%",
            "d/m/yyyy",
            "[$-42A]dd mmmm yyyy",
            "h:mm:ss AM/PM",
            "[h]:mm:ss",
            "mm:ss",
            "@",
        ],
        start=1,
    ):
        formats.cell(i, 1, 46203.25).number_format = code
    wb.save(tmp_path / "openpyxl.xlsx")
    for path in (FIXTURES / "messy_libreoffice.xlsx", tmp_path / "openpyxl.xlsx"):
        assert _ours(path) == _calamine(path), path.name


@pytest.mark.parametrize(
    "sheet",
    [
        b'<row r="1"><c><v>1</v></c><c t="s"><v>0</v></c></row>',  # cells without references
        b'<row r="1"><c r="A1" t="d"><v>2026-06-30T00:00:00</v></c></row>',  # an ISO date
    ],
    ids=["no_references", "iso_date"],
)
def test_what_it_declines_calamine_reads(tmp_path: Path, sheet: bytes) -> None:
    path = _workbook(tmp_path / "odd.xlsx", [("S", "", sheet)], STRINGS)
    assert xlsx.read_xlsx(path.name, path.read_bytes(), lim.Limits(), []) is None
    (read,) = read_sheets(path, lim.Limits())
    assert read.rows[0][0] is not None  # read, by calamine


def test_a_sheet_over_the_limits_is_refused_before_its_grid_is_built(tmp_path: Path) -> None:
    sheet = b'<row r="900000"><c r="ZZ900000"><v>1</v></c></row>'
    path = _workbook(tmp_path / "far.xlsx", [("Xa", "", sheet)])
    with pytest.raises(lim.UnreadableFile) as refused:
        xlsx.read_xlsx(path.name, path.read_bytes(), lim.Limits(), [])
    assert "far.xlsx" in refused.value.reason_en and "sheet Xa" in refused.value.reason_en
    assert "900000" in refused.value.reason_en


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("dd/mm/yyyy", "date"),
        ("h:mm AM/PM", "date"),
        ("[$-42A]d mmmm yyyy;@", "date"),
        ("[h]:mm:ss", "duration"),
        ("[Red][>=100]#,##0", None),
        ('#,##0" ngày"', None),  # "ngày" (days) quoted: text, not a date token
        ("0.0%", None),
        ("#,##0*d", None),  # a fill character
        ("General", None),
    ],
)
def test_date_formats_are_told_from_number_formats(code: str, kind: str | None) -> None:
    assert xlsx.date_format_kind(code) == kind


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        # …252.5 ms past a whole millisecond: calamine (Rust) says 253, Python's round() 252
        ("203614.26134551503", dt.datetime(2457, 6, 21, 6, 16, 20, 253000)),
        # a day and a hair: a datetime at midnight, not a date, as calamine has it
        ("36526.00000000001", dt.datetime(2000, 1, 1)),
        ("36526", dt.date(2000, 1, 1)),
    ],
)
def test_date_serials_read_as_calamine_reads_them(tmp_path: Path, serial: str, expected) -> None:
    """Edges the property tests found."""
    sheet = f'<row r="1"><c r="A1" s="1"><v>{serial}</v></c></row>'.encode()
    path = _workbook(tmp_path / "serial.xlsx", [("S", "", sheet)], styles=STYLES)
    ours = _ours(path)
    assert ours == _calamine(path)
    assert ours[0][1] == [[expected]]
    assert type(ours[0][1][0][0]) is type(expected)


@pytest.mark.parametrize(
    "text",
    [
        "<t> </t>",
        "<t> a </t>",
        '<t xml:space="preserve"> a </t>',
        "<t>\n a\n</t>",
        "<t>&#32;a&#9;</t>",
        "<t>_x0020_a_x0020_</t>",
        "<r><t>a </t></r><r><t> b</t></r>",
        '<r><t xml:space="preserve">a </t></r><r><t> b</t></r>',
    ],
)
def test_text_keeps_its_end_spaces_only_where_xml_space_says(tmp_path: Path, text: str) -> None:
    """Whitespace at a <t>'s ends is layout unless xml:space="preserve" (calamine drops it too),
    in a shared string and an inline one alike."""
    sheet = f'<row r="1"><c r="A1" t="inlineStr"><is>{text}</is></c><c r="B1" t="s"><v>0</v></c>'
    path = _workbook(tmp_path / "space.xlsx", [("S", "", (sheet + "</row>").encode())],
                     f"<si>{text}</si>".encode())  # fmt: skip
    assert _ours(path) == _calamine(path)


def test_rows_remembered_across_files_take_each_files_strings_and_styles(tmp_path: Path) -> None:
    """A row's XML is remembered between files (a template's prefilled rows), but the same XML
    means what the file's own shared strings and number formats say."""
    sheet = b'<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" s="1"><v>46203</v></c></row>'
    plain_styles = b'<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="0"/></cellXfs>'
    first = _workbook(
        tmp_path / "a.xlsx", [("S", "", sheet)], "<si><t>Xã A</t></si>".encode(), STYLES
    )
    second = _workbook(
        tmp_path / "b.xlsx", [("S", "", sheet)], "<si><t>Xã B</t></si>".encode(), plain_styles
    )
    for _ in range(2):  # read again: now from the memo
        assert _ours(first)[0][1][1] == ["Xã A", dt.date(2026, 6, 30)]
        assert _ours(second)[0][1][1] == ["Xã B", 46203.0]
    grid = xlsx.read_xlsx(first.name, first.read_bytes(), lim.Limits(), [])[0][1]
    grid[1][0] = "changed by a caller"
    assert _ours(first)[0][1][1][0] == "Xã A"  # every read gets its own lists


def test_a_row_element_holding_cells_of_other_rows_is_left_to_calamine(tmp_path: Path) -> None:
    sheet = b'<row r="1"><c r="A1"><v>1</v></c><c r="A2"><v>2</v></c></row>'
    path = _workbook(tmp_path / "odd_rows.xlsx", [("S", "", sheet)])
    assert xlsx.read_xlsx(path.name, path.read_bytes(), lim.Limits(), []) is None
    (read,) = read_sheets(path, lim.Limits())
    assert [row[0] for row in read.rows] == [1.0, 2.0]


def test_attributes_in_single_quotes_read_as_calamine_reads_them(tmp_path: Path) -> None:
    """XML lets a generator quote attributes with ' as well as "."""
    sheet = b'<row r="1"><c r="A1" s=\'1\'><v>46203</v></c><c r="B1" t=\'s\'><v>0</v></c></row>'
    source = _workbook(tmp_path / "double.xlsx", [("S", "", sheet)], STRINGS, STYLES)
    path = tmp_path / "single.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("sheet1.xml"):
                data = data.replace(b'ref="A1:C1"', b"ref='A1:C1'")
            elif not info.filename.endswith("sharedStrings.xml"):
                data = data.replace(b'"', b"'")
            zout.writestr(info.filename, data)
    ours = _ours(path)
    assert ours == _calamine(path)
    assert ours[0][1] == [[dt.date(2026, 6, 30), "Mã đơn vị"]]
    assert ours[0][3] == [((0, 0), (0, 2))]


def test_xml_references_resolve_as_xml_says(tmp_path: Path) -> None:
    """&#128; is U+0080 in XML (HTML would make it €); a sheet name keeps its _x0041_."""
    sheet = b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    strings = b"<si><t>&#x1EA1;&#128;&amp;_x0041_</t></si>"
    path = _workbook(tmp_path / "refs.xlsx", [("A&amp;B_x0041_", "", sheet)], strings)
    ours = _ours(path)
    assert ours == _calamine(path)
    assert ours[0][0] == "A&B_x0041_"
    assert ours[0][1] == [["ạ\x80&A"]]


def _xml_text(text: str) -> str:
    """Text as Excel writes it in XML: markup escaped, a literal _xHHHH_ escaped as _x005F_."""
    text = re.sub(r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


TEXTS = st.lists(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
        ),
        max_size=20,
    )
    | st.sampled_from(["Tổng cộng", "a & b < c > d", "_x000D_", "  đệm  ", "85,5%"]),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=TEXTS, data=st.data())
def test_any_shared_strings_read_back_exactly(tmp_path: Path, texts: list[str], data) -> None:
    """Each string as one run or split into rich-text runs (some with a phonetic guide), and
    cells pointing at them in any order: the reader gives the texts back, as calamine does."""
    items = []
    for text in texts:
        cut = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            items.append(f'<si><t xml:space="preserve">{_xml_text(text)}</t></si>')
        else:
            items.append(
                f'<si><r><rPr><b/></rPr><t xml:space="preserve">{_xml_text(text[:cut])}</t></r>'
                f'<r><t xml:space="preserve">{_xml_text(text[cut:])}</t></r>'
                '<rPh sb="0" eb="1"><t>ふりがな</t></rPh></si>'
            )
    order = data.draw(st.permutations(range(len(texts))))
    sheet = "".join(
        f'<row r="{r}"><c r="B{r}" t="s"><v>{i}</v></c></row>' for r, i in enumerate(order, 1)
    ).encode()
    path = _workbook(tmp_path / "strings.xlsx", [("S", "", sheet)], "".join(items).encode())
    ours = _ours(path)
    assert ours == _calamine(path)
    assert [row[1] if len(row) > 1 else None for row in _pad(ours[0][1], len(order))] == [
        texts[i] or None for i in order
    ]


def _pad(rows: list[list[object]], height: int) -> list[list[object]]:
    return rows + [[] for _ in range(height - len(rows))]


def _cell_xml(ref: str, cell: tuple, draw) -> str:
    """One cell written the way some generator might: attributes in any order and quotes, extra
    attributes, a formula before the value, whitespace between the parts."""
    kind, value, style = cell
    q = draw(st.sampled_from(['"', "'"]))
    attrs = [f'r="{ref}"', f"s={q}{style}{q}"] + ([f"t={q}{kind}{q}"] if kind else [])
    attrs += draw(st.lists(st.sampled_from(['cm="1"', 'ph="1"']), max_size=1, unique=True))
    first, rest = attrs[0], draw(st.permutations(attrs[1:]))
    gap = draw(st.sampled_from(["", " ", "\n  "]))
    formula = draw(
        st.sampled_from(["", "<f>A1+1</f>", '<f t="shared" si="0"/>', '<f aca="false">1</f>'])
    )
    if kind == "inlineStr":
        body = f"<is>{gap}<t>{_xml_text(value)}</t>{gap}</is>"
    else:
        body = f"{formula}{gap}<v>{value}</v>"
    return f"<c {' '.join([first, *rest])}>{gap}{body}{gap}</c>"


CELLS = st.one_of(
    st.tuples(
        st.just(""),
        st.floats(-1e7, 1e7).map(repr),
        st.sampled_from([0, 1, 2]),
    ),
    st.tuples(st.just("n"), st.integers(-(10**7), 10**7).map(str), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("s"), st.integers(0, 4).map(str), st.just(0)),
    st.tuples(
        st.just("inlineStr"), st.sampled_from(["x", "Xã & <B>", "", "_x000D_ok"]), st.just(0)
    ),
    st.tuples(st.just("b"), st.sampled_from(["0", "1"]), st.just(0)),
    st.tuples(st.just("e"), st.sampled_from(["#DIV/0!", "#N/A"]), st.just(0)),
    st.tuples(st.just("str"), st.sampled_from(["ab", "a &amp; b", ""]), st.just(0)),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(CELLS, max_size=6), min_size=1, max_size=6), data=st.data())
def test_any_cell_markup_reads_as_calamine_reads_it(tmp_path: Path, rows: list, data) -> None:
    """Whatever the markup, the product's reading (ours, or calamine's when ours declines)
    gives calamine's grid."""
    xml = "".join(
        f'<row r="{r}">'
        + "".join(
            _cell_xml(f"{lim.column_letters(c)}{r}", cell, data.draw)
            for c, cell in enumerate(row, 1)
        )
        + "</row>"
        for r, row in enumerate(rows, 1)
    ).encode()
    styles = (
        b'<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="10"/></cellXfs>'
    )
    path = _workbook(tmp_path / "markup.xlsx", [("S", "", xml)], STRINGS, styles)
    product = [(s.name, _trimmed(s.rows), s.hidden, sorted(s.merged)) for s in read_sheets(path)]
    assert product == _calamine(path)


ANY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=30,
).filter(lambda s: not s.startswith("="))  # openpyxl writes "=…" as a formula
ANY_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    ANY_TEXT,
    st.sampled_from(["85,5%", "1.234,5", "-", "a & b < c", "x_x000D_y", "Tổng cộng", "  đệm  "]),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 12, 31)),
    st.times(),
)
FORMAT = st.sampled_from(
    [
        "General",
        "0.00",
        "#,##0",
        "0.0%",
        '0" người"',
        "dd/mm/yyyy",
        "d mmmm yyyy",
        "h:mm:ss AM/PM",
        "[h]:mm:ss",
        "mm:ss",
        "@",
        '_-* #,##0\\ _₫_-;\\-* #,##0\\ _₫_-;_-* "-"??\\ _₫_-;_-@_-',
    ]
)
ANY_SHEET = st.lists(st.lists(st.tuples(ANY_CELL, FORMAT), max_size=8), min_size=1, max_size=10)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sheets=st.lists(ANY_SHEET, min_size=1, max_size=2))
def test_any_cells_read_as_calamine_reads_them(tmp_path: Path, sheets: list) -> None:
    """Whatever cells and number formats a workbook holds, the reader gives calamine's grid."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for k, rows in enumerate(sheets):
        ws = wb.create_sheet(f"Sheet {k} & <{k}>")
        for r, row in enumerate(rows, start=1):
            for c, (value, fmt) in enumerate(row, start=1):
                ws.cell(r, c, value).number_format = fmt
    path = tmp_path / "any_cells.xlsx"
    wb.save(path)
    ours = _ours(path)  # openpyxl writes nothing this reader declines
    try:
        theirs = _calamine(path)
    except lim.UnreadableFile as refused:  # a date or duration past chrono's or Python's range
        cause = refused.__cause__
        if not isinstance(cause, OverflowError) and type(cause).__name__ != "PanicException":
            raise
        return  # calamine cannot read it at all; ours gives the number
    assert ours == theirs
