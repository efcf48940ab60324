"""Open a landing file as a list of sheets of cells, whatever the office saved it with.

Every spreadsheet (.xlsx/.xlsm, .ods, .xls) is read by calamine (Rust) from the bytes already in
memory, once limits.py has checked the zip and scanned its sheets (calamine builds a dense grid
per sheet); it returns the cached values of formulas. Delimited text (.csv, .txt) is decoded by
sniffing its encoding and delimiter. A workbook whose styles show numbers as percents (0.923 as
92.3 %) has those cells found by openpyxl (.xlsx) or odfpy (.ods) and marked (numbers.PercentCell).
Every reader keeps absolute positions, so row 7 here is row 7 in Excel.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import python_calamine as calamine

from . import limits as lim
from .limits import Limits, UnreadableFile
from .numbers import PercentCell

# .xlsb (Excel's binary workbook) is not read: its sheets cannot be checked for their extent
# before calamine builds their grid (see limits.check_zip); offices send .xlsx, .xls or .ods.
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}
SUPPORTED_SUFFIXES = SPREADSHEET_SUFFIXES | TEXT_SUFFIXES


__all__ = ["Sheet", "UnreadableFile", "read_sheets", "decode_text"]


@dataclass
class Sheet:
    name: str
    rows: list[list[object]]  # rows[i][j] is Excel row i+1, column j+1
    hidden: bool = False
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    # (row, col) of numbers a percent number format shows as a percent (0.923 as 92.3 %); their
    # values in `rows` are PercentCell, which numbers.parse_number reads as the percent shown
    percent_cells: frozenset[tuple[int, int]] = frozenset()


def read_sheets(
    path: Path,
    limits: Limits | None = None,
    notes: list[tuple[str, str]] | None = None,
    data: bytes | None = None,
) -> list[Sheet]:
    """All sheets of a landing file, hidden ones flagged. Raises UnreadableFile.

    The bytes decide how a file is read, not its name (an .xlsx that is really a CSV is read as
    CSV, with a note appended to `notes`); the limits are checked before any parser sees it.
    `data`: the file's bytes when the caller already holds them (not read again)."""
    limits = limits or Limits()
    notes = notes if notes is not None else []
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        kind = lim.sniff(path, limits, data)
        expected = "text" if suffix in TEXT_SUFFIXES else "cfb" if suffix == ".xls" else "zip"
        if kind != expected:
            notes.append(
                (
                    f"phần mở rộng {suffix} nhưng nội dung là {_KINDS[kind][0]}; đọc theo nội dung",
                    f"named {suffix} but the content is {_KINDS[kind][1]}; read by content",
                )
            )
        if kind == "text":
            data = lim.read_text(path, limits)
            return [Sheet(lim.shown(path.stem), _read_delimited(data, path, limits))]
        data = path.read_bytes() if data is None else data  # under the size limit (sniff)
        if kind == "zip":
            notes += lim.check_zip(path.name, data, limits)
        else:
            lim.check_cfb(path.name, data)
        return _read_spreadsheet(path.name, data, limits)
    raise UnreadableFile(
        f"Định dạng tệp không được hỗ trợ ({suffix or 'không có phần mở rộng'}); "
        f"hãy gửi .xlsx, .xls, .ods hoặc .csv",
        f"unsupported file type ({suffix or 'no extension'}); send .xlsx, .xls, .ods or .csv",
    )


_KINDS = {
    "text": ("văn bản CSV", "CSV text"),
    "zip": ("bảng tính .xlsx/.ods", "an .xlsx/.ods workbook"),
    "cfb": ("bảng tính .xls", "an .xls workbook"),
}


_EMPTY = {"": None}


def _read_spreadsheet(name: str, data: bytes, limits: Limits) -> list[Sheet]:
    """The worksheets calamine reads from `data` (it tells the format by the bytes, not the
    name). The grid of each is checked before it becomes Python lists (an .xls is not scanned
    beforehand), and so are the workbook's total and its merged ranges (see _check_merged)."""
    try:
        workbook = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets, total = [], 0
        for meta in workbook.sheets_metadata:
            if str(meta.typ) not in ("SheetTypeEnum.WorkSheet", "SheetType.WorkSheet"):
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            if sheet.end is not None:  # the dense grid to_python would build, before it does
                height, width = sheet.end[0] + 1, sheet.end[1] + 1
                lim.check_grid(name, meta.name, height, width, limits)
                total += height * width
                lim.check_workbook_grid(name, meta.name, total, limits)
            rows = [  # calamine's "" for an empty cell becomes None, by a C-level map
                list(map(_EMPTY.get, row, row)) for row in sheet.to_python(skip_empty_area=False)
            ]
            merged = [tuple(r) for r in (sheet.merged_cell_ranges or [])]
            _check_merged(name, meta.name, merged, rows)
            hidden = str(meta.visible) not in ("SheetVisibleEnum.Visible", "SheetVisible.Visible")
            sheets.append(Sheet(meta.name, rows, hidden=hidden, merged=merged))
        return _with_percent_cells(sheets, data)
    except calamine.PasswordError as exc:
        raise UnreadableFile(
            "Tệp được bảo vệ bằng mật khẩu; hãy gửi lại bản không đặt mật khẩu",
            "the file is password-protected; ask for a copy without a password",
        ) from exc
    except UnreadableFile:
        raise
    except BaseException as exc:  # calamine's errors, and its Rust panics (a BaseException)
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise  # KeyboardInterrupt, SystemExit
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UnreadableFile(
            f"Tệp {name} bị hỏng hoặc không phải bảng tính ({detail})",
            f"file {name}: the file is corrupt or not a spreadsheet ({detail})",
        ) from exc


def _with_percent_cells(sheets: list[Sheet], data: bytes) -> list[Sheet]:
    """Mark the numbers a workbook shows as percents. calamine does not expose number formats,
    so a library reads them (openpyxl for .xlsx/.xlsm, odfpy for .ods), and only for a workbook
    that has one: the template and most offices' files have none and are not opened twice."""
    if not data.startswith(b"PK"):
        return sheets  # an .xls: calamine gives no formats and no library here reads them
    if sum(map(len, (row for sheet in sheets for row in sheet.rows))) > PERCENT_MAX_CELLS:
        return sheets  # a second parse would cost seconds: its rates are read as stored
    by_sheet = _formatted_percents(data)
    for sheet in sheets:
        cells = by_sheet.get(sheet.name, frozenset())
        marked = set()
        for i, j in cells:
            value = sheet.rows[i][j] if i < len(sheet.rows) and j < len(sheet.rows[i]) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.rows[i][j] = PercentCell(value)
                marked.add((i, j))
        sheet.percent_cells = frozenset(marked)
    return sheets


PERCENT_MAX_CELLS = 1_000_000  # ~5 s of openpyxl; a commune's report has a few hundred
ODS_PERCENT_MAX_BYTES = 16 * 1024 * 1024  # odfpy builds a DOM: larger content.xml are not read


def _formatted_percents(data: bytes) -> dict[str, frozenset[tuple[int, int]]]:
    """{sheet: (row, col)} of the numbers shown as percents, when the workbook has any."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "xl/styles.xml" in names:  # its size was counted by limits.check_zip
                return (
                    _xlsx_percent_cells(data)
                    if _uses_percent_format(zf.read("xl/styles.xml"))
                    else {}
                )
            if (
                "content.xml" in names
                and zf.getinfo("content.xml").file_size <= ODS_PERCENT_MAX_BYTES
            ):
                content = zf.read("content.xml")
                if b'value-type="percentage"' in content:
                    return _ods_percent_cells(data)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError):
        pass  # calamine has read the values as stored
    return {}


_NUM_FMT = re.compile(rb"<(?:\w+:)?numFmt\b[^>]*>")
_ATTR_ID = re.compile(rb'numFmtId="(\d+)"')
_ATTR_CODE = re.compile(rb'formatCode="([^"]*)"')
_CELL_XFS = re.compile(rb"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", re.S)
_BUILTIN_PERCENT = {b"9", b"10"}  # 0% and 0.00%: built in, never written in <numFmts>


def is_percent_format(code: str | bytes) -> bool:
    """A number format that multiplies by 100: a % outside quotes and not escaped."""
    text = code.decode("utf-8", "replace") if isinstance(code, bytes) else code
    text = re.sub(r'"[^"]*"|&quot;.*?&quot;|\\.', "", text)
    return "%" in text


def _uses_percent_format(styles: bytes) -> bool:
    """Whether a cell style of the workbook (styles.xml's cellXfs) has a percent number format."""
    if b"<!DOCTYPE" in styles or b"<!ENTITY" in styles:
        return False  # no second parser for a crafted file: values are read as stored
    percent = set(_BUILTIN_PERCENT)
    for element in _NUM_FMT.findall(styles):
        fmt_id, code = _ATTR_ID.search(element), _ATTR_CODE.search(element)
        if fmt_id and code and is_percent_format(code.group(1)):
            percent.add(fmt_id.group(1))
    xfs = _CELL_XFS.search(styles)
    return bool(xfs) and any(i in percent for i in _ATTR_ID.findall(xfs.group(0)))


def _xlsx_percent_cells(data: bytes) -> dict[str, frozenset[tuple[int, int]]]:
    """{sheet: (row, col) of the numbers with a percent format}, 0-based, read by openpyxl."""
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # calamine read it: the values stay as stored, the rates then quarantined
        return {}
    try:
        out = {}
        for ws in book.worksheets:
            ws.reset_dimensions()  # read every row, whatever the file says its extent is
            out[ws.title] = frozenset(
                (c.row - 1, c.column - 1)
                for row in ws.iter_rows()
                for c in row
                if c.value is not None
                and c.data_type == "n"
                and is_percent_format(c.number_format or "")
            )
        return out
    except Exception:
        return {}
    finally:
        book.close()


def _ods_percent_cells(data: bytes) -> dict[str, frozenset[tuple[int, int]]]:
    """{sheet: (row, col)} of an .ods's cells of value type "percentage" (stored 0.923, shown
    92.3 %), read by odfpy; repeated rows and columns counted as calamine lays them out."""
    from odf.opendocument import load  # only for the few .ods with a percentage cell
    from odf.table import Table, TableRow

    try:
        doc = load(io.BytesIO(data))
        out = {}
        for table in doc.spreadsheet.getElementsByType(Table):
            cells, i = set(), 0
            for row in table.getElementsByType(TableRow):
                rows_repeated = int(row.getAttribute("numberrowsrepeated") or 1)
                j = 0
                for cell in row.childNodes:
                    if cell.qname[1] not in ("table-cell", "covered-table-cell"):
                        continue
                    cols_repeated = int(cell.getAttribute("numbercolumnsrepeated") or 1)
                    if (
                        cell.qname[1] == "table-cell"
                        and cell.getAttribute("valuetype") == "percentage"
                    ):
                        cells.update(
                            (i + di, j + dj)
                            for di in range(min(rows_repeated, 1000))
                            for dj in range(min(cols_repeated, 1000))
                        )
                    j += cols_repeated
                i += rows_repeated
            out[str(table.getAttribute("name"))] = frozenset(cells)
        return out
    except Exception:  # calamine read it: the values stay as stored, the rates then quarantined
        return {}


def _check_merged(name: str, sheet: str, merged: list, rows: list[list[object]]) -> None:
    """Merged ranges that overlap: layout.fill_merged visits each range's cells, so ranges
    covering more cells than the grid holds (which Excel never writes) would cost time without
    bound; their number was already limited by the scan (DXLAKE_MAX_MERGED_RANGES)."""
    height, width = len(rows), len(rows[0]) if rows else 0
    covered = 0
    for (r0, c0), (r1, c1) in merged:
        covered += max(min(r1 + 1, height) - r0, 0) * max(min(c1 + 1, width) - c0, 0)
    if covered > height * width:
        raise UnreadableFile(
            f"Tệp {name}, trang {sheet}: các vùng ô gộp chồng lên nhau (phủ {covered:,} ô trên "
            f"lưới {height * width:,} ô); tệp bị hỏng hoặc cố ý",
            f"file {name}, sheet {sheet}: merged ranges overlap (covering {covered:,} cells of a "
            f"{height * width:,}-cell grid); the file is corrupt or crafted",
        )


def decode_text(data: bytes) -> str:
    """Decode delimited text: UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text"), cp1258."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    sample = data[:4096]
    if sample and sample.count(b"\x00") > len(sample) // 4:  # UTF-16 without a BOM
        odd_nuls = sample[1::2].count(b"\x00")
        return data.decode("utf-16-le" if odd_nuls > len(sample) // 4 else "utf-16-be", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # cp1258 writes tone marks as combining characters: compose them
        return unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))


def _read_delimited(data: bytes, path: Path, limits: Limits | None = None) -> list[list[object]]:
    if not data.strip():
        raise UnreadableFile(f"Tệp {path.name}: tệp rỗng", f"file {path.name}: the file is empty")
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not _utf16(data):
        lim.check_text(path.name, data)
    text = decode_text(data).replace("\x00", "")
    # The sniffer's regexes on a bounded sample: they take time quadratic in its length (64 KB
    # of '",' took 22 s, a whole file's time limit), 16 KB is about a second at worst.
    sample = "\n".join(text.splitlines()[:50])[:16384]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = max(",;\t", key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [[cell if cell.strip() else None for cell in row] for row in reader]
    except csv.Error as exc:  # e.g. a field over csv's 128 KiB limit: refused, never a crash
        raise UnreadableFile(
            f"Tệp {path.name}: dòng {reader.line_num} không đọc được ({exc})",
            f"file {path.name}: line {reader.line_num} cannot be parsed ({exc})",
        ) from exc
    lim.check_rows(path.name, None, rows, limits or Limits())
    return rows


def _utf16(data: bytes) -> bool:
    """UTF-16 without a BOM: a NUL in every other byte of the start (as decode_text tells it)."""
    sample = data[:4096]
    return bool(sample) and sample.count(b"\x00") > len(sample) // 4
