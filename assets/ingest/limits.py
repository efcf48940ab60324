"""What one landing file may cost to read, checked before and while it is read.

Report files come by mail and USB stick from hundreds of offices; a few are broken, huge or
hostile. Nothing reaches calamine or the CSV parser before it has passed these checks: the file's
size, what its bytes say it is (not its name), a zip's declared *and* actual uncompressed sizes
and ratio, a sheet's cell count and extent (streamed from the XML, because calamine allocates a
dense grid), a CSV line's length (streamed: a 1 GB line is never held), NUL bytes and mixed
encodings. Every refusal is an `UnreadableFile` with a Vietnamese and an English reason naming
the file, and the sheet, row or column where one applies.

The limits are settings (environment variables, read when a file is read so that worker
processes inherit them): DXLAKE_MAX_FILE_MB, DXLAKE_MAX_UNCOMPRESSED_MB, DXLAKE_MAX_RATIO,
DXLAKE_MAX_ROWS, DXLAKE_MAX_COLUMNS, DXLAKE_MAX_CELLS, DXLAKE_MAX_LINE_BYTES, and the cost bound
every file is read under (in a worker process): DXLAKE_MAX_SECONDS, DXLAKE_MAX_MEMORY_MB.
"""

from __future__ import annotations

import errno
import io
import itertools
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

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


@dataclass(frozen=True)
class Limits:
    """Per-file limits. Defaults are far above any real report (a province has < 200 communes;
    the national long table is ~30,000 rows) and far below what would exhaust the machine."""

    max_file_mb: float = 50.0
    max_uncompressed_mb: float = 300.0
    max_ratio: float = 200.0  # uncompressed / compressed, for members over 1 MB
    max_rows: int = 200_000  # per sheet
    max_columns: int = 1_000  # per sheet
    max_cells: int = 5_000_000  # per sheet, filled cells (and the dense grid calamine builds)
    max_line_bytes: int = 1 << 20  # one line of delimited text
    max_zip_entries: int = 10_000
    max_seconds: float = 30.0  # wall time to read one file, in a worker process
    max_memory_mb: float = 1024.0  # memory one file may take to read, over the worker's own

    @classmethod
    def from_env(cls) -> Limits:
        """DXLAKE_MAX_<FIELD> overrides each field (DXLAKE_MAX_FILE_MB, ...)."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get("DXLAKE_" + f.name.upper(), "").strip()
            if raw:
                try:
                    values[f.name] = type(f.default)(float(raw))
                except ValueError as exc:
                    raise ValueError(f"DXLAKE_{f.name.upper()}: {raw!r} is not a number") from exc
        return cls(**values)


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

_XLSX_SHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
# A cell with a value (<c .../> has none: calamine skips it); r="" gives its column and row.
_XLSX_CELL = re.compile(rb'<c\s[^>]*?\br="([A-Z]{1,4})(\d{1,8})"[^>]*(?<!/)>')
_XLSX_BARE_CELL = re.compile(rb"<c(?:\s[^>]*?)?(?<!/)>")
# The same with a namespace prefix (<x:c r="A1">), which calamine reads too: slower (no literal
# start), so used only on XML that has one.
_XLSX_CELL_NS = re.compile(rb'<(?:[\w.-]+:)?c\s[^>]*?\br="([A-Z]{1,4})(\d{1,8})"[^>]*(?<!/)>')
_XLSX_BARE_CELL_NS = re.compile(rb"<(?:[\w.-]+:)?c(?:\s[^>]*?)?(?<!/)>")
_PREFIXED_CELL = re.compile(rb":c[\s>]")
_ODS_TAG = re.compile(
    rb"<table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>"
    rb"|</table:(table-row)>"
)
_ODS_NAME = re.compile(rb'table:name="([^"]*)"')
_ODS_ROWS = re.compile(rb'table:number-rows-repeated="(\d+)"')
_ODS_COLS = re.compile(rb'table:number-columns-repeated="(\d+)"')


def _chunks_of_tags(stream, budget: list[int]) -> Iterator[bytes]:
    """Decompressed chunks cut at tag boundaries, so a regex never sees half a tag; counts the
    bytes against `budget` (the actual uncompressed size left) and stops at it."""
    tail = b""
    while chunk := stream.read(CHUNK):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise OverflowError
        buf = tail + chunk
        cut = buf.rfind(b"<")
        if cut != -1 and buf.find(b">", cut) == -1:
            buf, tail = buf[:cut], buf[cut:]
            tail = tail if len(tail) < 65536 else b""  # a "tag" this long is no cell
        else:
            tail = b""
        yield buf


def _xlsx_cells(xml: bytes, limits: Limits | None = None) -> tuple[int, int, int, int]:
    """(cells with a value, max row, max column, a row holding that column) in a tag-aligned
    piece of sheet XML. The regexes run in C and the maxima are taken without a Python loop per
    cell: the row by int(), the column by its letters right-justified (so "AA" > "Z").

    With `limits`, the digits' and letters' lengths are tried first: when the largest row and
    column they allow fit the limits, those bounds are returned instead (an ordinary sheet,
    found safe without computing its exact extent)."""
    prefixed = _PREFIXED_CELL.search(xml) is not None
    cell, bare = (_XLSX_CELL_NS, _XLSX_BARE_CELL_NS) if prefixed else (_XLSX_CELL, _XLSX_BARE_CELL)
    refs = cell.findall(xml)  # (letters, digits) of each <c> that is not self-closing
    if not refs:  # cells without r="": count them, position unknown
        return len(bare.findall(xml)), 0, 0, 0
    letters, digits = zip(*refs, strict=True)
    if limits is not None:
        rows = 10 ** max(map(len, digits)) - 1
        cols = column_number(b"Z" * max(map(len, letters)))
        if (
            rows <= limits.max_rows
            and cols <= limits.max_columns
            and max(rows * cols, len(refs)) <= limits.max_cells
        ):
            return len(refs), rows, cols, 0
    widest = max(map(bytes.rjust, letters, itertools.repeat(4))).lstrip()
    row_of_widest = int(digits[letters.index(widest)])
    return len(refs), max(map(int, digits)), column_number(widest), row_of_widest


def _check_xlsx_sheet(
    name: str, member: str, pieces: Iterable[bytes], limits: Limits, whole: bool = False
) -> None:
    """Refuse a sheet over the limits. `whole`: `pieces` is the whole sheet in one piece, so
    _xlsx_cells may answer with bounds (pieces of a streamed sheet need their exact maxima)."""
    sheet = member.rsplit("/", 1)[-1].removesuffix(".xml")
    cells = max_row = max_col = 0
    for xml in pieces:
        n, rows, cols, row_of_widest = _xlsx_cells(xml, limits if whole else None)
        cells += n
        if rows > max_row:
            max_row = rows
            if rows > limits.max_rows:
                raise _too_many_rows(name, sheet, rows, limits)
        if cols > max_col:
            max_col = cols
            if cols > limits.max_columns:
                raise _too_many_columns(name, sheet, row_of_widest, cols, limits)
        if cells > limits.max_cells or max_row * max_col > limits.max_cells:
            raise _too_many_cells(name, sheet, max(cells, max_row * max_col), limits)


def _check_ods_content(name: str, chunks: Iterator[bytes], limits: Limits) -> None:
    sheet, row_no, row_repeat, col, row_cells, grid = "?", 0, 1, 0, 0, 0
    for buf in chunks:
        for m in _ODS_TAG.finditer(buf):
            kind, attrs, empty = m.group(1), m.group(2), m.group(3)
            if kind == b"table":
                n = _ODS_NAME.search(attrs)
                sheet, row_no, grid = (n.group(1).decode("utf-8", "replace") if n else "?"), 0, 0
            elif kind == b"table-row":
                r = _ODS_ROWS.search(attrs)
                row_repeat, col, row_cells = (int(r.group(1)) if r else 1), 0, 0
                row_no += row_repeat
                if empty:
                    continue
            elif m.group(4):  # </table:table-row>: its filled cells, repeated
                if row_cells:
                    if row_no > limits.max_rows:
                        raise _too_many_rows(name, sheet, row_no, limits)
                    grid += row_cells * row_repeat
                    if grid > limits.max_cells:
                        raise _too_many_cells(name, sheet, grid, limits)
            else:  # a cell, maybe repeated; only filled ones count
                c = _ODS_COLS.search(attrs)
                repeat = int(c.group(1)) if c else 1
                col += repeat
                if not empty:
                    row_cells += repeat
                    if col > limits.max_columns:
                        raise _too_many_columns(name, sheet, row_no, col, limits)


def check_zip(path: Path, limits: Limits, data: bytes | None = None) -> list[tuple[str, str]]:
    """Refuse a zip bomb before calamine opens it; returns notes (a macro project ignored).

    Checks the declared sizes first (cheap), then inflates every member and counts the actual
    bytes, so a member that lies about its size is caught too; sheet XML is scanned on the way
    for its cells and extent. `data`: the file's bytes when the caller already holds them (the
    size limit has been checked). Ordinary members are inflated whole with zlib and scanned by
    C-level regexes (a national half-year is thousands of files: this is on the hot path);
    large or unusual ones (over STREAM_MEMBER_BYTES, bzip2/lzma, encrypted) are streamed."""
    cap = int(limits.max_uncompressed_mb * _MB)
    data = path.read_bytes() if data is None else data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            check_directory(path.name, infos, limits)
            names = {i.filename for i in infos}
            budget = [cap]
            for info in infos:
                # A worksheet is found by its content too: the workbook's relations may put it
                # anywhere in the zip, and calamine follows them.
                is_ods = info.filename == "content.xml" and "mimetype" in names
                is_sheet = not is_ods and (
                    bool(_XLSX_SHEET.match(info.filename)) or info.file_size > STREAM_MEMBER_BYTES
                )
                xml = inflate_whole(data, info)
                if xml is not None:
                    budget[0] -= len(xml)
                    if budget[0] < 0:
                        raise OverflowError
                    if is_sheet or (not is_ods and b"sheetData" in xml):
                        _check_xlsx_sheet(path.name, info.filename, (xml,), limits, whole=True)
                    elif is_ods:
                        _check_ods_content(path.name, iter((xml,)), limits)
                    continue
                with zf.open(info) as stream:
                    chunks = _chunks_of_tags(stream, budget)
                    if is_sheet:
                        _check_xlsx_sheet(path.name, info.filename, chunks, limits)
                    elif is_ods:
                        _check_ods_content(path.name, chunks, limits)
                    else:
                        for _ in chunks:
                            pass
    except OverflowError:
        raise _bomb(path.name, cap + 1, limits) from None
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
            path.name,
            f"tệp nén bị hỏng hoặc bị cắt cụt ({str(exc)[:120]})",
            f"the zip container is corrupt or truncated ({str(exc)[:120]})",
        ) from exc
    return zip_notes(names)


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


STREAM_MEMBER_BYTES = 4 * _MB  # members declared larger are inflated in chunks, not whole
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length


def inflate_whole(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """The member's bytes, inflated in one C call; None when it should be streamed instead.

    Never returns more than the declared size: a member inflating beyond it is corrupt (and the
    declared sizes were checked against the limits), and so is a CRC mismatch."""
    raw = stored_bytes(data, info)
    return None if raw is None else inflate(raw, info)


def stored_bytes(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """The member as stored in the zip (compressed), or None when it should be streamed
    (over STREAM_MEMBER_BYTES, encrypted, or compressed other than by deflate)."""
    if (
        info.file_size > STREAM_MEMBER_BYTES
        or info.flag_bits & 0x1  # encrypted
        or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    ):
        return None
    magic, name_len, extra_len = _LOCAL_HEADER.unpack_from(data, info.header_offset)
    if magic != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
    raw = data[start : start + info.compress_size]
    if len(raw) < info.compress_size:
        raise EOFError(f"{info.filename} is cut short")
    return raw


def inflate(raw: bytes, info: zipfile.ZipInfo) -> bytes:
    """A member's stored bytes inflated, checked against its declared size and CRC-32."""
    if info.compress_type == zipfile.ZIP_STORED:
        out = raw
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        out = inflater.decompress(raw, info.file_size + 1)
    if len(out) != info.file_size:
        raise zipfile.BadZipFile(
            f"{info.filename} inflates to {'more' if len(out) > info.file_size else 'less'} "
            f"than its declared {info.file_size} bytes"
        )
    if zlib.crc32(out) != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 for {info.filename}")
    return out


def check_cfb(path: Path) -> None:
    """An OLE container holding an EncryptedPackage is a password-protected .xlsx: say so.

    The stream names sit in the container's directory in UTF-16; the file is already under the
    size limit, so it is scanned in chunks."""
    needle = "EncryptedPackage".encode("utf-16-le")
    with path.open("rb") as fh:
        tail = b""
        while chunk := fh.read(CHUNK):
            if needle in tail + chunk:
                raise _refuse(
                    path.name,
                    "tệp được bảo vệ bằng mật khẩu (mã hoá); hãy gửi lại bản không đặt mật khẩu",
                    "the file is password-protected (encrypted); ask for a copy without a password",
                )
            tail = chunk[-len(needle) :]


def check_grid(name: str, sheet: str, rows: int, columns: int, limits: Limits) -> None:
    """Refuse a sheet grid over the limits: the one calamine built (.xls too) before it becomes
    Python lists, or the one the .xlsx reader is growing."""
    if rows > limits.max_rows:
        raise _too_many_rows(name, sheet, rows, limits)
    if columns > limits.max_columns:
        raise _too_many_columns(name, sheet, None, columns, limits)
    if rows * columns > limits.max_cells:
        raise _too_many_cells(name, sheet, rows * columns, limits)


# ---- delimited text ----------------------------------------------------------------------------


def read_text(path: Path, limits: Limits) -> bytes:
    """The file's bytes, read in chunks; refused as soon as a line passes DXLAKE_MAX_LINE_BYTES
    or the lines pass DXLAKE_MAX_ROWS, so a 1 GB line is never held in memory."""
    parts, line, line_len = [], 1, 0
    with path.open("rb") as fh:
        while chunk := fh.read(min(CHUNK, limits.max_line_bytes + 1)):
            start = 0
            while (nl := chunk.find(b"\n", start)) != -1:
                if line_len + nl - start > limits.max_line_bytes:
                    raise _long_line(path.name, line, limits)
                line, line_len, start = line + 1, 0, nl + 1
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
