"""What one landing file may cost to read, checked before and while it is read.

Report files come by mail and USB stick from hundreds of offices; a few are broken, huge or
hostile. Nothing reaches calamine or the CSV parser before it has passed these checks: the file's
size, what its bytes say it is (not its name), a zip's declared *and* actual uncompressed sizes
and ratio, a sheet's cell count and extent (streamed from the XML, because calamine allocates a
dense grid), a CSV line's length (streamed: a 1 GB line is never held), NUL bytes and mixed
encodings. Every refusal is an `UnreadableFile` with a Vietnamese and an English reason naming
the file, and the sheet, row or column where one applies.

The limits are settings (schemas.settings.Limits, read once with the other settings and handed
to the worker processes that read files): DXLAKE_MAX_FILE_MB, DXLAKE_MAX_UNCOMPRESSED_MB, DXLAKE_MAX_RATIO,
DXLAKE_MAX_ROWS, DXLAKE_MAX_COLUMNS, DXLAKE_MAX_CELLS, DXLAKE_MAX_LINE_BYTES,
DXLAKE_MAX_ZIP_ENTRIES, DXLAKE_MAX_WORKBOOK_CELLS, DXLAKE_MAX_MERGED_RANGES, and the cost bound
every file is read under (in a worker process): DXLAKE_MAX_SECONDS, DXLAKE_MAX_MEMORY_MB.
"""

from __future__ import annotations

import errno
import io
import os
import posixpath
import re
import stat
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from schemas.settings import Limits  # noqa: F401  (re-exported: the readers' limits)

CHUNK = 1 << 20
_MB = 1 << 20
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Binary formats offices send by mistake, by their first bytes.
_OTHER_BINARIES = {
    b"%PDF": "PDF",
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"Rar!": "RAR",
    b"7z\xbc\xaf": "7-Zip",
    b"\x1f\x8b": "gzip",
    b"MZ": "EXE",
}


class UnreadableFile(Exception):
    """A file that cannot be read at all; the reason is given in Vietnamese and English.

    Defined here (and re-exported by readers) so the limits can raise it without an import cycle.
    """

    def __init__(self, reason_vi: str, reason_en: str):
        super().__init__(reason_en)
        self.reason_vi = reason_vi
        self.reason_en = reason_en


def shown(text: str) -> str:
    """Text any table, page or log can hold: a file name's bytes that are not UTF-8 (a name from
    a Windows archive, in cp1258), which the system gives as lone surrogates, shown as \\xNN."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to: shown as \\uXXXX
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _refuse(name: str, vi: str, en: str) -> UnreadableFile:
    return UnreadableFile(f"Tệp {name}: {vi}", f"file {name}: {en}")


def column_letters(n: int) -> str:
    """1 → A, 27 → AA: how Excel names a column."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def sniff(path: Path, limits: Limits, data: bytes | None = None) -> str:
    """What the bytes are: "zip", "cfb" (OLE: .xls or an encrypted workbook) or "text".

    Refuses empty and oversized files and known non-spreadsheet formats, whatever the name says.
    `data`: the file's bytes when the caller already read them.
    """
    size = path.stat().st_size if data is None else len(data)
    if size > limits.max_file_mb * _MB:
        raise _refuse(
            path.name,
            f"dung lượng {size / _MB:.1f} MB vượt giới hạn {limits.max_file_mb:g} MB "
            "(DXLAKE_MAX_FILE_MB); hãy tách tệp hoặc gửi bản chỉ có bảng số liệu",
            f"{size / _MB:.1f} MB exceeds the {limits.max_file_mb:g} MB limit "
            "(DXLAKE_MAX_FILE_MB); split it or send only the report table",
        )
    if data is None:
        with path.open("rb") as fh:
            start = fh.read(64)
    else:
        start = data[:64]
    head = start[:8]
    if not head or (size < 64 and not start.strip()):  # under 64 bytes, `start` is all of it
        raise _refuse(path.name, "tệp rỗng", "the file is empty")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head == CFB_MAGIC:
        return "cfb"
    for magic, kind in _OTHER_BINARIES.items():
        if head.startswith(magic):
            raise _refuse(
                path.name,
                f"nội dung là {kind}, không phải bảng tính (dù phần mở rộng là "
                f"{path.suffix or 'không có'}); hãy gửi .xlsx, .xls, .ods hoặc .csv",
                f"the content is {kind}, not a spreadsheet (whatever its {path.suffix or 'missing'} "
                "extension says); send .xlsx, .xls, .ods or .csv",
            )
    return "text"


# ---- zip containers (.xlsx, .xlsm, .ods) -------------------------------------------------------
#
# Every member is inflated through zipfile (its actual bytes counted against the uncompressed
# budget, its CRC checked), and the sheets' XML is scanned by expat before calamine sees the zip:
# expat parses in linear time and refuses malformed XML, where a regex over tag bodies can
# backtrack (a 5 KB sheet of unclosed tags once took seconds). The scan counts what calamine
# would allocate: the dense grid of each sheet (its extent), over the workbook too, and merges.

_XLSX_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
# How a sheet found by content is recognised: <sheetData> in UTF-8 (or any ASCII-compatible
# encoding) or UTF-16, both of which expat and calamine read.
_SHEET_MARKS = tuple("sheetData".encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be"))
_SEP = "|"  # expat's namespace separator: element names come as "uri|local"
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ODS_TABLE_TAG = f"{_ODS_TABLE}{_SEP}table"
_MAX_DIGITS = 9  # a row or repeat count longer than this is over any limit (int() stays cheap)


class _Refused(Exception):
    """Raised inside an expat handler; carries the refusal out of the parser."""

    def __init__(self, refusal: UnreadableFile):
        self.refusal = refusal


def check_zip(name: str, data: bytes, limits: Limits) -> list[tuple[str, str]]:
    """Refuse a zip bomb, a corrupt member or a sheet over the limits before calamine opens the
    workbook; returns notes (a macro project ignored). `data`: the file's bytes (under the size
    limit). Sheets are found by content as well as by name (the workbook's relations may put
    them anywhere in the zip, and calamine follows them)."""
    cap = int(limits.max_uncompressed_mb * _MB)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            check_directory(name, infos, limits)
            names = {i.filename for i in infos}
            book = _Book(name, limits, zf)
            left = cap
            for info in infos:
                left = _scan_member(zf, info, book, left)
                if left < 0:
                    raise _bomb(name, cap + 1, limits)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        ValueError,
        RuntimeError,  # zipfile: "File ... is encrypted, password required"
    ) as exc:
        raise _refuse(
            name,
            f"tệp nén bị hỏng hoặc bị cắt cụt ({str(exc)[:120]})",
            f"the zip container is corrupt or truncated ({str(exc)[:120]})",
        ) from exc
    return zip_notes(names)


def _scan_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, book: _Book, left: int) -> int:
    """Inflate one member in chunks, counting its bytes against `left` (returned, less them).
    A sheet's XML (an .ods's content.xml, an .xlsx's xl/worksheets/*.xml) goes through expat
    and a scanner, and any other member that turns out to hold <sheetData> (a sheet the
    workbook's relations put elsewhere: calamine follows them) is scanned again as one."""
    member = info.filename
    if info.is_dir():
        return left
    if member == "content.xml":  # OpenDocument: all the sheets are in it
        scan = _OdsScan(book)
    elif _XLSX_SHEET.fullmatch(member):
        scan = _SheetScan(book, member)
    else:
        scan = None
    if isinstance(scan, _SheetScan) and info.file_size <= SMALL_SHEET_BYTES:
        xml, left = _inflate(zf, info, left)
        if left >= 0:
            _scan_small_sheet(book, scan, member, xml, info)
        return left
    # Other parts are only inflated and counted: calamine parses them (shared strings, styles)
    # with a linear parser and allocates nothing by their numbers. A small one is read at once
    # (zipfile never returns more than the declared size, and checks the CRC at its end).
    if scan is None and info.file_size <= CHUNK:
        body = zf.read(info)
        left -= len(body)
        if left >= 0 and any(mark in body for mark in _SHEET_MARKS):
            return _rescan(zf, info, book, left + len(body))
        return left
    parser = _parser(book.name, member, scan) if scan is not None else None
    sheet_of = book if isinstance(scan, _SheetScan) else None
    tail = b""
    with zf.open(info) as stream:
        while chunk := stream.read(CHUNK):
            left -= len(chunk)
            if left < 0:
                return left
            if scan is None and any(mark in tail + chunk for mark in _SHEET_MARKS):
                return _rescan(zf, info, book, left)
            tail = chunk[-32:]
            if parser is not None:
                _feed(parser, chunk, False, book.name, member, sheet_of)
    if parser is not None:
        _feed(parser, b"", True, book.name, member, sheet_of)
    if scan is not None:
        scan.finish()
    return left


def _rescan(zf: zipfile.ZipFile, info: zipfile.ZipInfo, book: _Book, left: int) -> int:
    """A member found to hold <sheetData> (a sheet where only the relations say): scanned as one
    from its start; its bytes were counted up to where it was found, counted again in full."""
    scan = _SheetScan(book, info.filename)
    if info.file_size <= SMALL_SHEET_BYTES:
        xml, left = _inflate(zf, info, left)
        if left >= 0:
            _scan_small_sheet(book, scan, info.filename, xml, info=info)
        return left
    parser = _parser(book.name, info.filename, scan)
    with zf.open(info) as stream:
        while chunk := stream.read(CHUNK):
            left -= len(chunk)
            if left < 0:
                return left
            _feed(parser, chunk, False, book.name, info.filename, book)
        _feed(parser, b"", True, book.name, info.filename, book)
    scan.finish()
    return left


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, left: int) -> tuple[bytes, int]:
    """A small member whole (zipfile stops at its declared size and checks its CRC), its bytes
    counted against `left`."""
    parts = []
    with zf.open(info) as stream:
        while chunk := stream.read(CHUNK):
            left -= len(chunk)
            if left < 0:
                return b"", left
            parts.append(chunk)
    return b"".join(parts), left


SMALL_SHEET_BYTES = 4 * _MB  # sheets up to this size are held whole and may take the fast path
# _sheet_bound's tiers: (references that break it, the rows and columns every other allows).
_TIERS = [
    (re.compile(rb' r="(?![A-Z]?[1-9][0-9]{0,2}")'), 999, 26),
    (re.compile(rb' r="(?![A-Z]{0,2}[1-9][0-9]{0,2}")'), 999, 702),
    (re.compile(rb' r="(?![A-Z]?[1-9][0-9]{0,3}")'), 9_999, 26),
    (re.compile(rb' r="(?![A-Z]?[1-9][0-9]{0,4}")'), 99_999, 26),
]
# An XML declaration naming an encoding, which the byte counts below must be able to read.
_DECLARED = re.compile(rb'\s*<\?xml[^>]{0,200}?encoding\s*=\s*["\']([^"\']{0,40})')
# A shared-string cell (t="s", in any spelling) whose value is not a plain <v>digits</v> within
# a few hundred bytes (bounded: each t="s" is looked past once, however long the tag).
_ODD_SHARED = re.compile(rb't\s*=\s*["\']s["\'](?!(?:\s[^<>]{0,400})?(?:><v>[0-9]{1,9}</v>|/>))')
# A cell or row element written otherwise than `<c ` / `<row ` (prefixed, or no attribute).
# (Each search has a literal start, which re finds fast; one alternation of them would not.)
_ODD_TAGS = [re.compile(p) for p in (rb"<(?:c|row)[\t\n\r/>]", rb":c[\s/>]", rb":row[\s/>]")]


def _sheet_bound(xml: bytes) -> tuple[int, int, int, int] | None:
    """(rows, columns, cells, merged ranges) the sheet cannot exceed, from byte counts and
    literal-prefix searches (no Python per cell), on UTF-8 only; None unless every <c> and <row> starts with
    a plain r="A1" / r="1" (no character reference or other spelling; and no cell or row
    without r, whose place is positional): _SheetScan then counts exactly. Every count can
    only over-estimate what expat will see (a comment or text adds to it; a duplicate r makes
    the XML malformed), so the bound holds for any bytes."""
    declared = _DECLARED.match(xml[:300])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None  # (UTF-16 has NUL bytes, below; other encodings: counted exactly)
    if b"\x00" in xml or (b"&" in xml and b"&#" in xml) or _ODD_SHARED.search(xml):
        return None
    cells = xml.count(b"<c ")
    if xml.count(b'<c r="') < cells or xml.count(b'<row r="') < xml.count(b"<row "):
        return None
    if any(odd.search(xml) for odd in _ODD_TAGS):
        return None
    for breaks, max_row, max_col in _TIERS:
        if not breaks.search(xml):
            return max_row, max_col, cells, xml.count(b"mergeCell")
    return None


def _scan_small_sheet(
    book: _Book,
    scan: _SheetScan,
    member: str,
    xml: bytes,
    info: zipfile.ZipInfo | None = None,
) -> None:
    """A sheet held whole: when _sheet_bound proves it under every limit, expat only checks it
    is well-formed (in C, no handler: the national hot path); otherwise _SheetScan counts.
    The bounds over-estimate (a sheet of 30 rows is bounded at 999 × 26): before the workbook
    total would refuse a workbook that only its earlier sheets' bounds fill, those sheets are
    counted exactly (_Book.settle)."""
    bound = _sheet_bound(xml)
    if bound is not None and book.estimated and not book.fits(*bound):
        book.settle()
    if bound is not None and book.fits(*bound):
        _feed(_parser(book.name, member, None), xml, True, book.name, member, book)
        rows, cols, cells, merged = bound
        book.add(max(rows * cols, cells))
        book.merged += merged
        if info is not None:
            book.estimated.append((info, max(rows * cols, cells), merged))
        return
    parser = _parser(book.name, member, scan)
    _feed(parser, xml, True, book.name, member, book)
    scan.finish()


def _parser(name: str, member: str, scan) -> xml.parsers.expat.XMLParserType:
    parser = xml.parsers.expat.ParserCreate(namespace_separator=_SEP)

    def doctype(*_args) -> None:  # Excel and LibreOffice never write one; entities expand
        raise _Refused(
            _refuse(
                name,
                f"thành phần {member} có khai báo DOCTYPE: tệp bị hỏng hoặc cố ý",
                f"member {member} holds a DOCTYPE declaration: the file is corrupt or crafted",
            )
        )

    parser.StartDoctypeDeclHandler = doctype
    if isinstance(scan, _SheetScan):
        scan.bind(parser)
    elif scan is not None:
        parser.StartElementHandler = scan.start
        parser.EndElementHandler = scan.end
    return parser


def _feed(
    parser, chunk: bytes, final: bool, name: str, member: str, sheet_of: _Book | None = None
) -> None:
    """Parse a chunk; malformed XML refuses the file, naming the member (and, `sheet_of` the
    workbook it is a sheet of, the sheet) and where expat stopped."""
    try:
        parser.Parse(chunk, final)
    except _Refused as refused:
        raise refused.refusal from None
    except xml.parsers.expat.ExpatError as exc:
        what = xml.parsers.expat.ErrorString(exc.code)
        sheet = sheet_of.sheet_name(member) if sheet_of is not None else None
        vi, en = (f" (trang {sheet})", f" (sheet {sheet})") if sheet else ("", "")
        raise _refuse(
            name,
            f"thành phần {member}{vi} không phải XML hợp lệ (dòng {exc.lineno}, "
            f"cột {exc.offset}: {what}); tệp bị hỏng",
            f"member {member}{en} is not well-formed XML (line {exc.lineno}, "
            f"column {exc.offset}: {what}); the file is corrupt",
        ) from None


def _xlsx_sheets(name: str, zf: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """{member: sheet name} for the worksheets the workbook lists, by its relations."""
    if _WORKBOOK not in names or _WORKBOOK_RELS not in names:
        return {}
    listed: dict[str, str] = {}  # relation id → sheet name
    targets: dict[str, str] = {}  # relation id → member

    def sheet(tag: str, attrs: dict) -> None:
        if tag.endswith("|sheet") and "name" in attrs:
            listed[attrs.get(f"{_REL_NS}{_SEP}id", "")] = attrs["name"]

    def relation(tag: str, attrs: dict) -> None:
        if tag.endswith("|Relationship") and "Target" in attrs:
            target = attrs["Target"]
            target = target[1:] if target.startswith("/") else posixpath.normpath("xl/" + target)
            targets[attrs.get("Id", "")] = target

    for member, handler in ((_WORKBOOK, sheet), (_WORKBOOK_RELS, relation)):
        parser = _parser(name, member, None)
        parser.StartElementHandler = handler
        with zf.open(member) as stream:
            while chunk := stream.read(CHUNK):
                _feed(parser, chunk, False, name, member)
        _feed(parser, b"", True, name, member)
    return {targets[rid]: sheet_name for rid, sheet_name in listed.items() if rid in targets}


class _Book:
    """What a whole workbook adds up to: the grids calamine would build, and merged ranges."""

    def __init__(self, name: str, limits: Limits, zf: zipfile.ZipFile):
        self.name, self.limits, self.zf = name, limits, zf
        self.cells = 0  # the dense grids of the sheets scanned so far
        self.merged = 0
        self.names: dict[str, str] | None = None  # member → sheet name, read when one is needed
        # Sheets counted by their fast bound, not exactly: (member, grid and merges added).
        self.estimated: list[tuple[zipfile.ZipInfo, int, int]] = []

    def settle(self) -> None:
        """Count exactly the sheets so far counted by their bounds (each is settled once)."""
        estimated, self.estimated = self.estimated, []
        for _, grid, merged in estimated:
            self.cells -= grid
            self.merged -= merged
        for info, _, _ in estimated:
            scan = _SheetScan(self, info.filename)
            xml = self.zf.read(info)
            _feed(
                _parser(self.name, info.filename, scan), xml, True, self.name, info.filename, self
            )
            scan.finish()

    def sheet_name(self, member: str) -> str:
        """The name the workbook gives the sheet in `member` (for a refusal's reason: read only
        then), else the member's file name."""
        if self.names is None:
            try:
                self.names = _xlsx_sheets(self.name, self.zf, set(self.zf.namelist()))
            except (UnreadableFile, zipfile.BadZipFile, zlib.error, EOFError, OSError):
                self.names = {}
        return self.names.get(member) or member.rsplit("/", 1)[-1].rsplit(".", 1)[0]

    def merge(self, sheet: str) -> None:
        self.merged += 1
        if self.merged > self.limits.max_merged_ranges:
            raise _Refused(
                _refuse(
                    self.name,
                    f"có hơn {self.limits.max_merged_ranges:,} vùng ô gộp (tới trang {sheet}), "
                    "vượt giới hạn (DXLAKE_MAX_MERGED_RANGES)",
                    f"has more than {self.limits.max_merged_ranges:,} merged ranges (reached in "
                    f"sheet {sheet}), over the limit (DXLAKE_MAX_MERGED_RANGES)",
                )
            )

    def check(self, sheet: str, rows: int, cols: int, cells: int, row: int) -> None:
        """A sheet's extent and filled cells so far (`row`: where it was reached)."""
        limits = self.limits
        if rows > limits.max_rows:
            raise _Refused(_too_many_rows(self.name, sheet, rows, limits))
        if cols > limits.max_columns:
            raise _Refused(_too_many_columns(self.name, sheet, row, cols, limits))
        grid = max(rows * cols, cells)
        if grid > limits.max_cells:
            raise _Refused(_too_many_cells(self.name, sheet, grid, limits))
        if self.cells + grid > limits.max_workbook_cells:
            raise _Refused(_too_many_workbook_cells(self.name, sheet, self.cells + grid, limits))

    def fits(self, rows: int, cols: int, cells: int, merged: int) -> bool:
        """Whether a sheet of this extent stays under every limit, the workbook's included."""
        limits, grid = self.limits, max(rows * cols, cells)
        return (
            rows <= limits.max_rows
            and cols <= limits.max_columns
            and grid <= limits.max_cells
            and self.cells + grid <= limits.max_workbook_cells
            and self.merged + merged <= limits.max_merged_ranges
        )

    def add(self, grid: int) -> None:
        self.cells += grid


class _SheetScan:
    """A worksheet's extent as calamine computes it: cells with a value (a <v>, <is> or <f>
    inside the <c>), placed by their r="A1" or, without one, next to the previous cell (rows
    likewise). Only element starts are handled, so a cell is counted when its value starts.
    A shared-string cell's index must be digits: calamine reads "-1" or "1.9" as a number cast
    to an index, and so as another string (a figure credited to another commune)."""

    def __init__(self, book: _Book, member: str):
        self.book, self.member = book, member
        self.row = self.col = 0  # where the scan is (1-based; 0: before the first)
        self.pending: tuple[int, int] | None = None  # a <c> whose value has not started yet
        self.rows = self.cols = self.cells = 0
        self.kinds: dict[str, int] = {}
        self.shared = False  # the current <c> has t="s"
        self.index: list[str] | None = None  # the text of a shared-string cell's <v> so far
        self.parser = None

    @property
    def sheet(self) -> str:
        return self.book.sheet_name(self.member)

    def bind(self, parser) -> None:
        self.parser = parser
        parser.StartElementHandler = self.start

    def start(self, tag: str, attrs: dict) -> None:
        if self.index is not None:
            self.check_index()
        kind = self.kinds.get(tag)
        if kind is None:
            kind = self.kinds[tag] = _XLSX_KINDS.get(tag.rpartition(_SEP)[2], 0)
        if kind == _CELL:
            ref = attrs.get("r")
            if ref is None:
                self.col += 1
                self.pending = (max(self.row, 1), self.col)
            else:
                self.pending = self.place(ref)
            self.shared = attrs.get("t") == "s"
        elif kind in (_VALUE, _V):
            if self.pending is not None:
                self.value(*self.pending)
                self.pending = None
            if kind == _V and self.shared:
                self.index = []
                self.parser.CharacterDataHandler = self.index.append
        elif kind == _ROW:
            ref = attrs.get("r")
            self.row = self.row + 1 if ref is None else self.number(ref, ref)
            self.col = 0
            self.pending = None
        elif kind == _MERGE:
            self.book.merge(self.sheet)

    def check_index(self) -> None:
        """The text of a shared-string <v> (up to the next element, or the end of the sheet)."""
        text, self.index = "".join(self.index).strip(), None
        self.parser.CharacterDataHandler = None
        if not (text.isascii() and text.isdigit()):
            cell = f"{column_letters(self.col)}{self.row}"
            raise _Refused(
                _refuse(
                    self.book.name,
                    f"trang {self.sheet}, dòng {self.row}: ô {cell} trỏ tới chuỗi dùng chung số "
                    f"{text[:20]!r}, không tồn tại; tệp bị hỏng",
                    f"sheet {self.sheet}, row {self.row}: cell {cell} refers to shared string "
                    f"{text[:20]!r}, which cannot exist; the file is corrupt",
                )
            )

    def place(self, ref: str) -> tuple[int, int]:
        """A cell's r="AB12" as (row, column); its column becomes the scan's (a next cell
        without r follows it), a missing row part is the current row's."""
        letters = ref.rstrip("0123456789")
        digits = ref[len(letters) :]
        col = 0
        for ch in letters.upper()[:4]:  # four letters are past any column limit already
            col = col * 26 + max(ord(ch) - 64, 1)
        self.col = max(col, 1)
        return (self.number(digits, ref) if digits else max(self.row, 1)), self.col

    def number(self, digits: str, ref: str) -> int:
        """The row number in a row's r or a cell's; row 0 (which calamine cannot place, and a
        reader counting from 1 would drop) refuses the file, naming where it was found."""
        if not digits.isascii() or not digits.isdigit():
            return self.row + 1  # not a number: calamine refuses the sheet, the extent is bounded
        n = int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS
        if n == 0:
            vi, en = (f"ô {ref}", f"cell {ref}") if ref != digits else ("một dòng", "a row")
            raise _Refused(
                _refuse(
                    self.book.name,
                    f"trang {self.sheet}: {vi} mang số dòng 0 (dòng đánh số từ 1); tệp bị hỏng",
                    f"sheet {self.sheet}: {en} is numbered row 0 (rows start at 1); "
                    "the file is corrupt",
                )
            )
        return n

    def value(self, row: int, col: int) -> None:
        self.cells += 1
        if row > self.rows or col > self.cols:
            self.rows, self.cols = max(self.rows, row), max(self.cols, col)
            self.book.check(self.sheet, self.rows, self.cols, self.cells, row)
        elif self.cells > self.book.limits.max_cells:
            self.book.check(self.sheet, self.rows, self.cols, self.cells, row)

    def finish(self) -> None:
        if self.index is not None:  # the sheet ended in a shared-string <v>
            try:
                self.check_index()
            except _Refused as refused:
                raise refused.refusal from None
        self.book.add(max(self.rows * self.cols, self.cells))


_CELL, _VALUE, _V, _ROW, _MERGE = 1, 2, 3, 4, 5
_XLSX_KINDS = {"c": _CELL, "v": _V, "is": _VALUE, "f": _VALUE, "row": _ROW, "mergeCell": _MERGE}


class _OdsScan:
    """content.xml of an .ods: its tables' extent as calamine expands it (rows repeated by
    number-rows-repeated, cells by number-columns-repeated, covered cells too); only cells with
    a value (a value type or a text paragraph) count, as calamine trims empty ones; spans
    (number-columns-spanned / -rows-spanned) count as merged ranges. A table inside a cell (a
    sub-table) is no new sheet: calamine reads on in the outer one, so the scan counts on too
    (the inner rows added to the outer's: never fewer than calamine's), and takes the outer
    row's place up again after it."""

    def __init__(self, book: _Book):
        self.book, self.sheet = book, "?"
        self.row = self.repeat = self.col = 0
        self.rows = self.cols = self.cells = 0
        self.pending: tuple[int, int] | None = None  # (first, last column) of an empty-so-far cell
        self.outer: list[tuple[int, int, tuple[int, int] | None]] = []  # inside sub-tables
        self.depth = 0  # tables open

    def start(self, tag: str, attrs: dict) -> None:
        ns, _, local = tag.rpartition(_SEP)
        if ns == _ODS_TABLE:
            if local == "table-cell" or local == "covered-table-cell":
                first = self.col + 1
                self.col += self.count(attrs.get(f"{_ODS_TABLE}{_SEP}number-columns-repeated"))
                self.pending = (first, self.col)
                if f"{_ODS_OFFICE}{_SEP}value-type" in attrs:
                    self.value()
                if (
                    f"{_ODS_TABLE}{_SEP}number-columns-spanned" in attrs
                    or f"{_ODS_TABLE}{_SEP}number-rows-spanned" in attrs
                ):
                    self.book.merge(self.sheet)
            elif local == "table-row":
                self.repeat = self.count(attrs.get(f"{_ODS_TABLE}{_SEP}number-rows-repeated"))
                self.row += self.repeat
                self.col, self.pending = 0, None
            elif local == "table":
                self.depth += 1
                if self.depth > 1:  # a sub-table in a cell: the outer table goes on
                    self.outer.append((self.col, self.repeat, self.pending))
                    return
                self.finish()
                self.sheet = attrs.get(f"{_ODS_TABLE}{_SEP}name", "?")
                self.row = self.col = self.rows = self.cols = self.cells = 0
                self.pending = None
        elif self.pending is not None and local == "p":  # text inside the cell: a value
            self.value()

    def end(self, tag: str) -> None:
        if tag == _ODS_TABLE_TAG:
            self.depth -= 1
            if self.outer and self.depth >= 1:
                self.col, self.repeat, self.pending = self.outer.pop()

    def count(self, raw: str | None) -> int:
        if raw is None:
            return 1
        raw = raw.strip()
        if not raw.isascii() or not raw.isdigit():
            return 1
        return max(int(raw) if len(raw) <= _MAX_DIGITS else 10**_MAX_DIGITS, 1)

    def value(self) -> None:
        first, last = self.pending
        self.pending = None
        self.cells += (last - first + 1) * self.repeat
        self.rows, self.cols = max(self.rows, self.row), max(self.cols, last)
        self.book.check(self.sheet, self.rows, self.cols, self.cells, self.row)

    def finish(self) -> None:
        self.book.add(max(self.rows * self.cols, self.cells))


def check_directory(name: str, infos: Sequence, limits: Limits) -> None:
    """Refuse a zip by its directory alone: too many entries, declared sizes over the limits, a
    large member compressed suspiciously well, or an .xlsb (binary sheets, see readers)."""
    cap = int(limits.max_uncompressed_mb * _MB)
    if len(infos) > limits.max_zip_entries:
        raise _refuse(
            name,
            f"tệp nén chứa {len(infos)} thành phần (giới hạn {limits.max_zip_entries})",
            f"the zip holds {len(infos)} entries (limit {limits.max_zip_entries})",
        )
    declared = sum(i.file_size for i in infos)
    if declared > cap:
        raise _bomb(name, declared, limits)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _MB and ratio > limits.max_ratio:
            raise _refuse(
                name,
                f"thành phần {info.filename} nén {ratio:.0f} lần (giới hạn "
                f"{limits.max_ratio:g}, DXLAKE_MAX_RATIO): nghi là bom nén",
                f"member {info.filename} is compressed {ratio:.0f}:1 (limit "
                f"{limits.max_ratio:g}:1, DXLAKE_MAX_RATIO): looks like a zip bomb",
            )
        if info.filename.lower().endswith("workbook.bin"):
            raise _refuse(
                name,
                "là sổ làm việc nhị phân Excel (.xlsb), không đọc được; hãy lưu lại thành .xlsx",
                "is an Excel binary workbook (.xlsb), which is not read; save it as .xlsx",
            )


def zip_notes(names: Iterable[str]) -> list[tuple[str, str]]:
    """What the auditor should know about a workbook that was read: a macro project ignored."""
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return [
            (
                "có macro (vbaProject.bin): chỉ đọc giá trị, macro không được chạy",
                "contains macros (vbaProject.bin): values read, macros never run",
            )
        ]
    return []


# An .xls workbook's first record (BOF, 16 bytes, BIFF8, workbook globals), and the FILEPASS
# record that follows it at once when the workbook is encrypted.
_XLS_BOF = b"\x09\x08\x10\x00\x00\x06\x05\x00"
_XLS_FILEPASS = b"\x2f\x00"


def check_cfb(name: str, data: bytes) -> None:
    """A password-protected workbook in an OLE container: an .xlsx encrypted by Office (an
    EncryptedPackage stream, named in UTF-16 in the directory) or an .xls whose first record
    after BOF is FILEPASS. Said plainly, where calamine reading from memory could only say it
    cannot tell the format."""
    encrypted = "EncryptedPackage".encode("utf-16-le") in data
    at = data.find(_XLS_BOF)
    while not encrypted and at != -1:
        encrypted = at % 64 == 0 and data[at + 20 : at + 22] == _XLS_FILEPASS
        at = data.find(_XLS_BOF, at + 1)
    if encrypted:
        raise _refuse(
            name,
            "tệp được bảo vệ bằng mật khẩu (mã hoá); hãy gửi lại bản không đặt mật khẩu",
            "the file is password-protected (encrypted); ask for a copy without a password",
        )


def check_grid(name: str, sheet: str, rows: int, columns: int, limits: Limits) -> None:
    """Refuse a sheet grid over the limits: the one calamine built (.xls too) before it becomes
    Python lists (an .xls is not scanned before calamine reads it)."""
    if rows > limits.max_rows:
        raise _too_many_rows(name, sheet, rows, limits)
    if columns > limits.max_columns:
        raise _too_many_columns(name, sheet, None, columns, limits)
    if rows * columns > limits.max_cells:
        raise _too_many_cells(name, sheet, rows * columns, limits)


def check_workbook_grid(name: str, sheet: str, cells: int, limits: Limits) -> None:
    """The grids calamine built for a workbook's sheets so far, against the workbook limit."""
    if cells > limits.max_workbook_cells:
        raise _too_many_workbook_cells(name, sheet, cells, limits)


def _too_many_workbook_cells(name: str, sheet: str, cells: int, limits: Limits) -> UnreadableFile:
    return _refuse(
        name,
        f"các trang cộng lại có {cells:,} ô (tới trang {sheet}), vượt giới hạn "
        f"{limits.max_workbook_cells:,} ô cho cả tệp (DXLAKE_MAX_WORKBOOK_CELLS)",
        f"its sheets add up to {cells:,} cells (reached in sheet {sheet}), over the "
        f"{limits.max_workbook_cells:,}-cell limit for a workbook (DXLAKE_MAX_WORKBOOK_CELLS)",
    )


# ---- delimited text ----------------------------------------------------------------------------


_LINE_END = re.compile(rb"\r\n?|\n")


def read_text(path: Path, limits: Limits) -> bytes:
    """The file's bytes, read in chunks; refused as soon as a line passes DXLAKE_MAX_LINE_BYTES
    or the lines pass DXLAKE_MAX_ROWS, so a 1 GB line is never held in memory. A line ends as
    the csv module ends it: CR LF, LF, or a lone CR (a Mac "CSV (Macintosh)" has no LF at all)."""
    parts, line, line_len = [], 1, 0
    with path.open("rb") as fh:
        while chunk := fh.read(min(CHUNK, limits.max_line_bytes + 1)):
            start = 0
            while eol := _LINE_END.search(chunk, start):
                if line_len + eol.start() - start > limits.max_line_bytes:
                    raise _long_line(path.name, line, limits)
                line, line_len, start = line + 1, 0, eol.end()
                if line > limits.max_rows + 1:
                    raise _too_many_rows(path.name, None, line, limits)
            line_len += len(chunk) - start
            if line_len > limits.max_line_bytes:
                raise _long_line(path.name, line, limits)
            parts.append(chunk)
    return b"".join(parts)


def check_text(name: str, data: bytes) -> None:
    """NUL bytes and mixed encodings in 8-bit text (UTF-16 has NULs by design: not here).

    A line that is valid UTF-8 with accents beside one that is not means two encodings were
    pasted together; decoding either way would garble names silently, so the file is refused."""
    nul = data.find(b"\x00")
    if nul != -1:
        line = data.count(b"\n", 0, nul) + 1
        raise _refuse(
            name,
            f"có ký tự NUL (byte 0) ở dòng {line}: tệp bị hỏng hoặc không phải văn bản",
            f"NUL byte at line {line}: the file is corrupt or not text",
        )
    utf8_line = other_line = None
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
            utf8_line = utf8_line or n
        except UnicodeDecodeError:
            other_line = other_line or n
        if utf8_line and other_line:
            raise _refuse(
                name,
                f"lẫn nhiều bảng mã: dòng {utf8_line} là UTF-8 nhưng dòng {other_line} thì không; "
                "hãy lưu lại toàn bộ tệp bằng UTF-8",
                f"mixed encodings: line {utf8_line} is UTF-8 but line {other_line} is not; "
                "save the whole file as UTF-8",
            )


def check_rows(name: str, sheet: str | None, rows: list[list[object]], limits: Limits) -> None:
    """Delimited rows after parsing: too many rows, or a row wider than DXLAKE_MAX_COLUMNS."""
    if len(rows) > limits.max_rows:
        raise _too_many_rows(name, sheet, len(rows), limits)
    for n, row in enumerate(rows, start=1):
        if len(row) > limits.max_columns:
            raise _too_many_columns(name, sheet, n, len(row), limits)


# ---- messages ----------------------------------------------------------------------------------


def _where(sheet: str | None, en: bool = False) -> str:
    if sheet is None:
        return ""
    return f", sheet {sheet}" if en else f", trang {sheet}"


def _bomb(name: str, size: int, limits: Limits) -> UnreadableFile:
    return _refuse(
        name,
        f"giải nén ra hơn {size / _MB:.0f} MB, vượt giới hạn {limits.max_uncompressed_mb:g} MB "
        "(DXLAKE_MAX_UNCOMPRESSED_MB): nghi là bom nén",
        f"decompresses to more than {size / _MB:.0f} MB, over the "
        f"{limits.max_uncompressed_mb:g} MB limit (DXLAKE_MAX_UNCOMPRESSED_MB): looks like a zip bomb",
    )


def _too_many_rows(name: str, sheet: str | None, rows: int, limits: Limits) -> UnreadableFile:
    return _refuse(
        name,
        f"có dòng {rows}{_where(sheet)}, vượt giới hạn {limits.max_rows} dòng (DXLAKE_MAX_ROWS)",
        f"reaches row {rows}{_where(sheet, True)}, over the {limits.max_rows}-row limit "
        "(DXLAKE_MAX_ROWS)",
    )


def _too_many_columns(
    name: str, sheet: str | None, row: int | None, columns: int, limits: Limits
) -> UnreadableFile:
    at_vi = f", dòng {row}" if row else ""
    at_en = f", row {row}" if row else ""
    col = column_letters(columns)
    return _refuse(
        name,
        f"có {columns} cột (tới cột {col}){_where(sheet)}{at_vi}, vượt giới hạn "
        f"{limits.max_columns} cột (DXLAKE_MAX_COLUMNS)",
        f"has {columns} columns (up to column {col}){_where(sheet, True)}{at_en}, over the "
        f"{limits.max_columns}-column limit (DXLAKE_MAX_COLUMNS)",
    )


def _too_many_cells(name: str, sheet: str | None, cells: int, limits: Limits) -> UnreadableFile:
    return _refuse(
        name,
        f"có {cells:,} ô{_where(sheet)}, vượt giới hạn {limits.max_cells:,} ô (DXLAKE_MAX_CELLS)",
        f"has {cells:,} cells{_where(sheet, True)}, over the {limits.max_cells:,}-cell limit "
        "(DXLAKE_MAX_CELLS)",
    )


def _long_line(name: str, line: int, limits: Limits) -> UnreadableFile:
    return _refuse(
        name,
        f"dòng {line} dài hơn {limits.max_line_bytes:,} byte (DXLAKE_MAX_LINE_BYTES)",
        f"line {line} is longer than {limits.max_line_bytes:,} bytes (DXLAKE_MAX_LINE_BYTES)",
    )


# ---- the landing folder ------------------------------------------------------------------------

_LOCKS = (("~$", "Excel"), (".~lock.", "LibreOffice"))
_KINDS = {
    stat.S_IFIFO: ("một ống dẫn có tên (FIFO)", "a named pipe (FIFO)"),
    stat.S_IFCHR: ("một thiết bị", "a device"),
    stat.S_IFBLK: ("một thiết bị", "a device"),
    stat.S_IFSOCK: ("một socket", "a socket"),
}


def ignored(name: str, rel: str, folder: bool = False) -> tuple[str, str, str] | None:
    """("ignored", vi, en) for an editor's lock file or a hidden or temporary file or folder (a
    name starting with "." or "~"): never a report, but listed so that every entry has a status."""
    if not name.startswith((".", "~")):
        return None
    for prefix, editor in _LOCKS:
        if name.startswith(prefix) and not folder:
            return (
                "ignored",
                f"Tệp {rel}: tệp khoá của {editor} (tệp bên cạnh đang mở); không phải báo cáo, "
                "bỏ qua",
                f"file {rel}: {editor}'s lock file (the file beside it is open); not a report, "
                "ignored",
            )
    vi, en = ("Thư mục", "folder") if folder else ("Tệp", "file")
    return (
        "ignored",
        f"{vi} {rel}: {vi.lower()} ẩn hoặc tạm (tên bắt đầu bằng '{name[0]}'); không đọc",
        f"{en} {rel}: a hidden or temporary {en} (its name starts with '{name[0]}'); not read",
    )


def path_refusal(
    path: Path, rel: str, folder: Path, is_link: bool
) -> tuple[tuple[str, str, str] | None, os.stat_result | None]:
    """((status, vi, en), None) for an entry the landing folder must not follow or open, else
    (None, its stat) (one system call for an ordinary file: a national folder lists thousands).

    A link is followed only when it stays inside the folder; `..` in a name (a zip-slip style
    name, or backslashes from Windows) and anything that is not a regular file (a FIFO would block
    the run forever) are refused without being opened. Never raises: a link loop, an entry gone
    since it was listed or one the system will not describe gets its status like any other."""
    if ".." in re.split(r"[\\/]", rel):
        return _entry(rel, "tên có '..' (trỏ ra ngoài thư mục nhận)", "name contains '..'"), None
    try:
        if is_link:
            target = Path(os.path.realpath(path, strict=True))
            if not target.is_relative_to(folder.resolve()):
                return _entry(
                    rel,
                    "là liên kết trỏ ra ngoài thư mục nhận; không đi theo",
                    "is a symbolic link pointing outside the landing folder; not followed",
                ), None
            if target.is_dir():
                return _entry(
                    rel,
                    "là liên kết tới thư mục; không đi theo",
                    "is a linked folder; not followed",
                ), None
        st = os.stat(path)  # a link's target (inside the folder, as checked above)
    except (OSError, RuntimeError) as exc:
        return not_opened(rel, exc, is_link), None
    if not stat.S_ISREG(st.st_mode):
        vi, en = _KINDS.get(stat.S_IFMT(st.st_mode), ("không rõ loại", "of an unknown kind"))
        return _entry(
            rel, f"không phải tệp thông thường ({vi})", f"is not a regular file ({en})"
        ), None
    if st.st_size == 0:  # before the duplicate check: two empty files are both empty
        return _entry(rel, "tệp rỗng", "the file is empty"), None
    return None, st


def not_opened(rel: str, exc: BaseException, is_link: bool = False) -> tuple[str, str, str]:
    """The status of an entry the system would not describe or open: skipped when it went away
    (moved or deleted during the run: read on the next one), else rejected with the reason."""
    if isinstance(exc, FileNotFoundError) and not is_link:
        return vanished(rel)
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return _entry(
            rel,
            "là vòng liên kết (liên kết trỏ về chính nó); không đi theo",
            "is a symbolic link loop (a link that leads back to itself); not followed",
        )
    if isinstance(exc, FileNotFoundError):
        return _entry(
            rel, "là liên kết tới tệp không tồn tại", "is a symbolic link to nothing (no target)"
        )
    reason = getattr(exc, "strerror", None) or str(exc)
    return _entry(rel, f"không mở được ({reason})", f"cannot be opened ({reason})")


def vanished(rel: str) -> tuple[str, str, str]:
    return (
        "skipped",
        f"Tệp {rel} đã bị chuyển hoặc xoá trong lúc chạy; sẽ đọc ở lần chạy sau",
        f"file {rel} was moved or deleted during the run; read on the next run",
    )


def unlisted(rel: str, exc: OSError) -> tuple[str, str, str]:
    """The status of a subfolder that cannot be listed: its files are not read, and it says so."""
    if isinstance(exc, FileNotFoundError):
        return vanished(rel)
    reason = exc.strerror or str(exc)
    return (
        "rejected",
        f"Thư mục {rel}: không liệt kê được ({reason}); các tệp trong đó chưa được đọc",
        f"folder {rel}: cannot be listed ({reason}); the files in it were not read",
    )


def _entry(rel: str, vi: str, en: str) -> tuple[str, str, str]:
    return ("rejected", f"Tệp {rel}: {vi}", f"file {rel}: {en}")


def stamp(path: Path) -> tuple[int, int]:
    """(size, mtime in ns): what changes while a file is still being copied or saved."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def being_written(
    path: Path, before: tuple[int, int], rel: str | None = None
) -> tuple[str, str, str] | None:
    """("skipped", vi, en) when the file changed since `before`, went away, or an editor's lock
    file sits beside it (Excel's ~$name, LibreOffice's .~lock.name#): it is read on the next run,
    never half-read now."""
    rel = rel or path.name
    try:
        now = stamp(path)
    except OSError:
        return vanished(rel)
    return editor_lock(path, rel=rel) or (_still_written(rel) if now != before else None)


def editor_lock(
    path: Path, exists: Callable[[str], bool] | None = None, rel: str | None = None
) -> tuple[str, str, str] | None:
    """being_written's lock-file half: what listing a folder can tell without a system call.
    `exists(name)`: whether a name sits beside the file, from a listing the caller already
    holds (else the folder is asked)."""
    folder = os.path.dirname(path)
    exists = exists or (lambda name: os.path.lexists(os.path.join(folder, name)))
    locks = (f"~${path.name}", f"~${path.name[2:]}", f".~lock.{path.name}#")
    return _still_written(rel or path.name) if any(exists(lock) for lock in locks) else None


def _still_written(rel: str) -> tuple[str, str, str]:
    return (
        "skipped",
        f"Tệp {rel} đang được ghi hoặc đang mở; sẽ đọc ở lần chạy sau",
        f"file {rel} is still being written or is open in an editor; read on the next run",
    )
