"""Open a landing file as a list of sheets of cells, whatever the office saved it with.

Spreadsheets (.xlsx, .xlsm, .xls, .ods) are read with calamine (Rust), which returns the cached
values of formulas; delimited text (.csv, .txt) is decoded by sniffing its encoding and delimiter.
Every reader keeps absolute positions, so row 7 here is row 7 in Excel.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine as calamine

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}
SUPPORTED_SUFFIXES = SPREADSHEET_SUFFIXES | TEXT_SUFFIXES


class UnreadableFile(Exception):
    """A file that cannot be read at all; the reason is given in Vietnamese and English."""

    def __init__(self, reason_vi: str, reason_en: str):
        super().__init__(reason_en)
        self.reason_vi = reason_vi
        self.reason_en = reason_en


@dataclass
class Sheet:
    name: str
    rows: list[list[object]]  # rows[i][j] is Excel row i+1, column j+1
    hidden: bool = False
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def read_sheets(path: Path) -> list[Sheet]:
    """All sheets of a landing file, hidden ones flagged. Raises UnreadableFile."""
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return [Sheet(path.stem, _read_delimited(path.read_bytes(), path))]
    if suffix in SPREADSHEET_SUFFIXES:
        return _read_spreadsheet(path)
    raise UnreadableFile(
        f"Định dạng tệp không được hỗ trợ ({suffix or 'không có phần mở rộng'}); "
        f"hãy gửi .xlsx, .xls, .ods hoặc .csv",
        f"unsupported file type ({suffix or 'no extension'}); send .xlsx, .xls, .ods or .csv",
    )


def _read_spreadsheet(path: Path) -> list[Sheet]:
    try:
        workbook = calamine.CalamineWorkbook.from_path(str(path))
        sheets = []
        for meta in workbook.sheets_metadata:
            if str(meta.typ) not in ("SheetTypeEnum.WorkSheet", "SheetType.WorkSheet"):
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            rows = [
                [None if cell == "" else cell for cell in row]
                for row in sheet.to_python(skip_empty_area=False)
            ]
            merged = [tuple(r) for r in (sheet.merged_cell_ranges or [])]
            hidden = str(meta.visible) not in ("SheetVisibleEnum.Visible", "SheetVisible.Visible")
            sheets.append(Sheet(meta.name, rows, hidden=hidden, merged=merged))
        return sheets
    except calamine.PasswordError as exc:
        raise UnreadableFile(
            "Tệp được bảo vệ bằng mật khẩu; hãy gửi lại bản không đặt mật khẩu",
            "the file is password-protected; ask for a copy without a password",
        ) from exc
    except (calamine.CalamineError, calamine.ZipError, calamine.XmlError, ValueError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UnreadableFile(
            f"Tệp bị hỏng hoặc không phải bảng tính ({detail})",
            f"the file is corrupt or not a spreadsheet ({detail})",
        ) from exc


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
    except UnicodeDecodeError:
        return data.decode("cp1258", errors="replace")


def _read_delimited(data: bytes, path: Path) -> list[list[object]]:
    if not data.strip():
        raise UnreadableFile("Tệp rỗng", "the file is empty")
    text = decode_text(data).replace("\x00", "")
    sample = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = max(",;\t", key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [[cell if cell.strip() else None for cell in row] for row in reader]
