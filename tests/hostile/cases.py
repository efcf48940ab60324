"""Hostile landing files, generated small: each case writes itself into a landing folder and says
what must become of it. Big cases (zip bombs, a sheet of millions of cells, a long line) stay
small on disk because the suite lowers the limits through the settings (LOWERED_LIMITS)."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

# The limits the suite runs with (DXLAKE_* environment): small enough that every "huge" case is
# a few MB, far above the demo's files (a few tens of KB).
LOWERED_LIMITS = {
    "DXLAKE_MAX_FILE_MB": "30",
    "DXLAKE_MAX_UNCOMPRESSED_MB": "20",
    "DXLAKE_MAX_CELLS": "200000",
    "DXLAKE_MAX_ROWS": "50000",
    "DXLAKE_MAX_LINE_BYTES": "65536",
}
PERIOD = "2026-H1"
OTHER_PROVINCE = "01"  # Hà Nội: files that are read must not touch the demo's Huế figures
INJECTION_NAMES = [
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "javascript:alert(document.cookie)",
    '=HYPERLINK("http://evil.example","bấm")',
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
]
# A file name carrying HTML: its rows are accepted, so the map's tooltips show it.
INJECTION_FILE = "<img src=x onerror=alert(7)>.csv"


@dataclass(frozen=True)
class Case:
    name: str  # the file (relative to the landing folder) whose status is checked
    write: Callable[[Path, Path], None]  # (landing folder, a good .xlsx to mangle)
    status: str  # read | rejected | skipped
    reason: str  # a piece of the English reason
    rows: bool = False  # the file's rows are read (a note, not a rejection)


def minimal_xlsx(
    sheet_xml: bytes,
    extra: dict[str, bytes] | None = None,
    sheet_path: str = "worksheets/sheet1.xml",
    prefix: str = "",
) -> bytes:
    """A valid one-sheet .xlsx around `sheet_xml` (the <sheetData> content), the sheet stored at
    xl/`sheet_path` and its elements written with a namespace `prefix` ("x:") if given."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    ns = f'xmlns="{main}"'
    root = f'xmlns:{prefix[:-1]}="{main}"' if prefix else ns
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0"?><Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/{sheet_path}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ).encode(),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook {ns} xmlns:r="{rel}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="{sheet_path}"/>'
            "</Relationships>"
        ).encode(),
        f"xl/{sheet_path}": (
            f'<?xml version="1.0"?><{prefix}worksheet {root}><{prefix}sheetData>'.encode()
            + sheet_xml
            + f"</{prefix}sheetData></{prefix}worksheet>".encode()
        ),
        **(extra or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def minimal_ods(rows: str | bytes, table: str = "Bảng") -> bytes:
    """A valid .ods of one table whose rows are given as content.xml markup, with the manifest
    calamine needs to open it."""
    rows = rows if isinstance(rows, bytes) else rows.encode("utf-8")
    content = (
        b'<?xml version="1.0"?><office:document-content '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        + f'<office:spreadsheet><table:table table:name="{table}">'.encode()
        + rows
        + b"</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "mimetype", b"application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        zf.writestr("content.xml", content)
        zf.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
    return out.getvalue()


def encrypted_container() -> bytes:
    """An OLE/CFB container as Office writes a password-protected .xlsx: a header, one FAT
    sector and one directory sector naming the EncryptionInfo and EncryptedPackage streams."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHH", header, 24, 0x3E, 3, 0xFFFE)  # minor, major version 3, byte order
    struct.pack_into("<HH", header, 30, 9, 6)  # 512-byte sectors, 64-byte mini sectors
    struct.pack_into("<III", header, 44, 1, 1, 0)  # 1 FAT sector, directory at sector 1
    struct.pack_into("<IIIII", header, 56, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    header[76:512] = b"\xff" * 436
    struct.pack_into("<I", header, 76, 0)  # the FAT is sector 0
    fat = struct.pack("<4I", 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFE, 0xFFFFFFFE) + b"\xff" * 496

    def entry(name: str, kind: int, child: int = 0xFFFFFFFF, right: int = 0xFFFFFFFF) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        e = bytearray(128)
        e[0 : len(raw)] = raw
        struct.pack_into("<HBB", e, 64, len(raw), kind, 1)
        struct.pack_into("<III", e, 68, 0xFFFFFFFF, right, child)
        struct.pack_into("<II", e, 116, 0xFFFFFFFE, 0)
        return bytes(e)

    directory = (
        entry("Root Entry", 5, child=1)
        + entry("EncryptionInfo", 2, right=2)
        + entry("EncryptedPackage", 2)
        + bytes(128)
    )
    return bytes(header) + fat + directory + bytes(512)


def _units(n: int) -> pl.DataFrame:
    from geo.units import official_units

    units = official_units().filter(pl.col("province_code") == OTHER_PROVINCE).sort("unit_code")
    return units.head(n).select("unit_code", "unit_name")


def other_province_csv(names: list[str] | None = None, skip: int = 0) -> bytes:
    """A small, valid report for Hà Nội communes (or for the given unit names), as CSV."""
    lines = [
        "Tỉnh/Thành phố: Hà Nội;;;",
        f"Kỳ báo cáo: {PERIOD};;;",
        "Mã xã;Tên xã;Tổng số cán bộ, công chức cấp xã;"
        "Số cán bộ, công chức có máy tính đáp ứng cấu hình tối thiểu",
    ]
    if names is None:
        for i, (code, name) in enumerate(_units(3 + skip).tail(3).iter_rows()):
            lines.append(f"{code};{name};{20 + i};{18 + i}")
    else:
        lines += [f";{name};20;18" for name in names]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _macro_workbook(folder: Path, good: Path) -> None:
    from assets.ingest.template import write_template
    from schemas.catalogue import load_catalogue

    units = _units(3)
    figures = {(c, "officials"): 25 for c in units["unit_code"]}
    figures |= {(c, "officials_with_computer_count"): 20 for c in units["unit_code"]}
    plain = folder / "tmp_macros.xlsx"
    write_template(
        units, load_catalogue(), plain, province_name="Hà Nội", period=PERIOD, figures=figures
    )
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(folder / "macros.xlsm", "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("xl/vbaProject.bin", b'\xd0\xcf\x11\xe0 Sub AutoOpen(): Shell "calc": End Sub')
    plain.unlink()


def _lying_zip(folder: Path, good: Path) -> None:
    """A member that declares 1,000 bytes and inflates to 5 MB."""
    data = bytearray(minimal_xlsx(b'<row r="1"><c r="A1"><v>1</v></c></row>' + b" " * 5_000_000))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == b"xl/worksheets/sheet1.xml":
            struct.pack_into("<I", data, central + 24, 1000)
        central = data.find(b"PK\x01\x02", central + 4)
    (folder / "bomb_lying.xlsx").write_bytes(bytes(data))


def _stored_zip(size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(
            "xl/worksheets/sheet1.xml", b"<sheetData>" + os.urandom(size // 2).hex()[:size].encode()
        )
    return out.getvalue()


def _ods_bomb() -> bytes:
    content = (
        b'<?xml version="1.0"?><office:document-content '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        b'<office:spreadsheet><table:table table:name="Bom">'
        b'<table:table-row table:number-rows-repeated="1000000">'
        b'<table:table-cell table:number-columns-repeated="100" office:value-type="float" '
        b'office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
        b"</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "mimetype", b"application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        zf.writestr("content.xml", content)
    return out.getvalue()


def _cells(rows: int, cols: int) -> bytes:
    from assets.ingest.limits import column_letters

    letters = [column_letters(c) for c in range(1, cols + 1)]
    return "".join(
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>1</v></c>' for c in letters) + "</row>"
        for r in range(1, rows + 1)
    ).encode()


def _write(name: str, data: bytes | Callable[[Path], bytes]) -> Callable[[Path, Path], None]:
    def write(folder: Path, good: Path) -> None:
        (folder / name).write_bytes(data(good) if callable(data) else data)

    return write


def _symlink(name: str, target: Callable[[Path], Path]) -> Callable[[Path, Path], None]:
    def write(folder: Path, good: Path) -> None:
        (folder / name).symlink_to(target(folder))

    return write


def _fifo(folder: Path, good: Path) -> None:
    os.mkfifo(folder / "pipe.csv")


def _open_in_editor(folder: Path, good: Path) -> None:
    (folder / "open_in_editor.csv").write_bytes(other_province_csv(skip=6))
    (folder / ".~lock.open_in_editor.csv#").write_text("someone,office-pc,01.06.2026 09:00;")


def _mangled(good: Path) -> bytes:
    data = bytearray(good.read_bytes())
    mid = len(data) // 3
    data[mid : mid + 400] = bytes(b ^ 0x5A for b in data[mid : mid + 400])
    return bytes(data)


CASES: list[Case] = [
    Case(
        "truncated.xlsx",
        _write("truncated.xlsx", lambda g: g.read_bytes()[: g.stat().st_size // 2]),
        "rejected",
        "corrupt",
    ),
    Case("corrupt.xlsx", _write("corrupt.xlsx", _mangled), "rejected", "corrupt"),
    Case(
        "bomb_ratio.xlsx",
        _write("bomb_ratio.xlsx", minimal_xlsx(b" " * 10_000_000)),
        "rejected",
        "zip bomb",
    ),
    Case(
        "bomb_size.xlsx",
        _write("bomb_size.xlsx", lambda g: _stored_zip(22 << 20)),
        "rejected",
        "DXLAKE_MAX_UNCOMPRESSED_MB",
    ),
    Case("bomb_lying.xlsx", _lying_zip, "rejected", "corrupt"),
    Case("bomb.ods", _write("bomb.ods", lambda g: _ods_bomb()), "rejected", "sheet Bom"),
    Case(
        "many_cells.xlsx",
        _write("many_cells.xlsx", lambda g: minimal_xlsx(_cells(260, 800))),
        "rejected",
        "DXLAKE_MAX_CELLS",
    ),
    Case(
        "sparse_extent.xlsx",
        _write(
            "sparse_extent.xlsx",
            minimal_xlsx(
                b'<row r="1"><c r="A1"><v>1</v></c></row><row r="49000"><c r="CV49000"><v>2</v></c></row>'
            ),
        ),
        "rejected",
        "DXLAKE_MAX_CELLS",
    ),
    Case(
        "sparse_extent_elsewhere.xlsx",  # the sheet where only the workbook's relations say
        _write(
            "sparse_extent_elsewhere.xlsx",
            minimal_xlsx(
                b'<row r="1"><c r="A1"><v>1</v></c></row>'
                b'<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>',  # a 17-billion-cell grid
                sheet_path="data/grid.xml",
            ),
        ),
        "rejected",
        "DXLAKE_MAX_ROWS",
    ),
    Case(
        "sparse_extent_prefixed.xlsx",  # <x:c r="..."> as some generators write cells
        _write(
            "sparse_extent_prefixed.xlsx",
            minimal_xlsx(
                b'<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
                b'<x:row r="1048576"><x:c r="XFD1048576"><x:v>2</x:v></x:c></x:row>',
                prefix="x:",
            ),
        ),
        "rejected",
        "DXLAKE_MAX_ROWS",
    ),
    Case(
        "binary_workbook.xlsx",  # an .xlsb's parts under an .xlsx name
        _write("binary_workbook.xlsx", minimal_xlsx(b"", extra={"xl/workbook.bin": b"\x83\x01"})),
        "rejected",
        "Excel binary workbook (.xlsb)",
    ),
    Case(
        "report.xlsb",
        _write("report.xlsb", minimal_xlsx(b"", extra={"xl/workbook.bin": b"\x83\x01\x00"})),
        "rejected",
        "unsupported file type (.xlsb)",
    ),
    Case(
        "wide_row.csv",
        _write("wide_row.csv", (";".join(f"c{i}" for i in range(10_000)) + "\n1\n").encode()),
        "rejected",
        "10000 columns (up to column NTP), row 1",
    ),
    Case(
        "long_line.csv",
        _write("long_line.csv", b"Ma xa;Ten xa\n" + b"x" * 2_000_000 + b"\n"),
        "rejected",
        "line 2 is longer than 65,536 bytes",
    ),
    Case(
        "nul.csv",
        _write("nul.csv", "Mã xã;Tên xã\n00004;Ba\x00 Đình\n".encode()),
        "rejected",
        "NUL byte at line 2",
    ),
    Case(
        "mixed.csv",
        _write(
            "mixed.csv",
            "Mã xã;Tên xã\n".encode()
            + "00004;Phường Ba Đình\n".encode()
            + "00008;Đà\n".encode("cp1258"),
        ),
        "rejected",
        "mixed encodings: line 1 is UTF-8 but line 3",
    ),
    Case(
        "csv_named.xlsx",
        _write("csv_named.xlsx", other_province_csv()),
        "read",
        "named .xlsx but the content is CSV",
        rows=True,
    ),
    Case(
        "pdf_named.xlsx",
        _write("pdf_named.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"),
        "rejected",
        "the content is PDF",
    ),
    Case("empty.xlsx", _write("empty.xlsx", b""), "rejected", "empty"),
    Case("empty.csv", _write("empty.csv", b""), "rejected", "empty"),
    Case("blank.csv", _write("blank.csv", b"\r\n  \r\n" * 40), "rejected", "empty"),
    Case(
        "encrypted.xlsx",
        _write("encrypted.xlsx", encrypted_container()),
        "rejected",
        "password-protected",
    ),
    Case(
        "garbage.xls",
        _write("garbage.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(3000)),
        "rejected",
        "corrupt",
    ),
    Case(
        "macros.xlsm",
        _macro_workbook,
        "read",
        "contains macros (vbaProject.bin): values read, macros never run",
        rows=True,
    ),
    Case(
        "link_out.csv",
        _symlink("link_out.csv", lambda f: Path("/etc/passwd")),
        "rejected",
        "outside the landing folder",
    ),
    Case(
        "link_etc",
        _symlink("link_etc", lambda f: Path("/etc")),
        "rejected",
        "outside the landing folder",
    ),
    Case(
        "link_back", _symlink("link_back", lambda f: f), "rejected", "linked folder; not followed"
    ),
    Case(
        "a\\..\\..\\evil.csv",
        _write("a\\..\\..\\evil.csv", other_province_csv(skip=12)),
        "rejected",
        "name contains '..'",
    ),
    Case("pipe.csv", _fifo, "rejected", "not a regular file"),
    Case("open_in_editor.csv", _open_in_editor, "skipped", "still being written or is open"),
    Case(
        "oversize.csv",
        lambda f, g: os.truncate(_touch(f / "oversize.csv"), 40 << 20),
        "rejected",
        "exceeds the 30 MB limit",
    ),
    Case(INJECTION_FILE, _write(INJECTION_FILE, other_province_csv(skip=9)), "read", "", rows=True),
    Case(
        "injection.csv",
        _write("injection.csv", other_province_csv(INJECTION_NAMES)),
        "read",
        "",
        rows=True,
    ),
]


def _touch(path: Path) -> Path:
    path.touch()
    return path


def write_cases(folder: Path, good: Path) -> list[Case]:
    """Write every case into `folder` (beside the good files); `good` is a good .xlsx to mangle."""
    for case in CASES:
        case.write(folder, good)
    return CASES
