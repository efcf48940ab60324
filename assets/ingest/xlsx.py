"""Read an .xlsx/.xlsm workbook's cached cell values straight from its bytes, as calamine does.

Why a reader of our own: a national half-year is thousands of small workbooks, and each one's
members must be inflated and its sheets' extent checked before anything builds a grid (limits).
Parsing that inflated XML with a few C-level regexes, and each distinct <row> once (a province's
template comes back from every commune with the same prefilled rows), reads a template-sized
workbook in 0.22 ms where calamine takes 0.47 ms to inflate and parse it again.

It reads the ordinary case only and declines (returns None) anything it does not know for sure:
a member over limits.STREAM_MEMBER_BYTES, cells without a reference, namespace-prefixed
elements, ISO-dated or unknown cell types, a corrupt member. The caller then runs the full zip
check and hands the file to calamine, so an unusual workbook is read as before, and the two
readers agree cell for cell on every workbook the tests hold (tests/ingest/test_xlsx_reader.py).
"""

from __future__ import annotations

import hashlib
import math
import posixpath
import re
import struct
import zipfile
import zlib
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from . import limits as lim
from .limits import Limits

# (name, rows, hidden, merged): what readers.Sheet is made of.
SheetData = tuple[str, list[list[object]], bool, list[tuple[tuple[int, int], tuple[int, int]]]]

WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"

# XML lets an attribute's value sit in single quotes too; the parts below take either.
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(["'])(.*?)\2""", re.S)
_RELATIONSHIP = re.compile(rb"<Relationship\b([^>]*)>")
_SHEET = re.compile(rb"<sheet\b([^>]*)>")
_DATE1904 = re.compile(rb"""<workbookPr\b[^>]*\bdate1904=["'](?:1|true)["']""")
_PREFIXED_ROOT = re.compile(rb"<[\w.-]+:(?:worksheet|sst|workbook|styleSheet)\b")
# One cell that is not self-closing: (column letters, row digits, style, type, other attributes,
# then its value as a plain <v> after an optional formula, or a plain inline string, or anything
# else). Excel, LibreOffice and openpyxl write r, s, t in that order; an attribute out of that
# order lands in the "other attributes" group and is looked up there.
_CELL = re.compile(
    rb'<c r="([A-Z]{1,4})([0-9]{1,8})"(?: s="([0-9]+)")?+(?: t="(\w*)")?+([^>]*?)(?<!/)>'
    rb"(?:(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?<v>([^<]*)</v>|<is><t>([^<]*)</t></is>|(.*?))</c>",
    re.S,
)
_STYLE = re.compile(rb"""\ss=["']([0-9]+)["']""")
_TYPE = re.compile(rb"""\st=["'](\w*)["']""")
_VALUE = re.compile(rb"<v(?:\s[^>]*?)?(?<!/)>(.*?)</v>", re.S)
_TEXT = re.compile(rb"<t(\s[^>]*?)?(?<!/)>(.*?)</t>", re.S)  # (attributes, text)
_XML_SPACE = " \t\r\n"  # XML's whitespace
_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_STRING_ITEM = re.compile(rb"<si>(.*?)</si>|<si/>", re.S)
_MERGE = re.compile(
    rb"""<mergeCell\b[^>]*?\sref=["']([A-Z]{1,4})([0-9]{1,8}):([A-Z]{1,4})([0-9]{1,8})["']"""
)
_NUM_FMT = re.compile(rb"<numFmt\b([^>]*)>")
_CELL_XFS = re.compile(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", re.S)
_XF = re.compile(rb"<xf\b([^>]*)>")
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# XML's own references only (html.unescape would also read HTML's, and map &#128; to €).
_ENTITY = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|(lt|gt|amp|quot|apos));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}

_WORKSHEET_REL = "/worksheet"
# Built-in number formats that show a date or time (ECMA-376 18.8.30), and [h]:mm:ss.
_BUILTIN_DATES = {*range(14, 23), 45, 47}
_BUILTIN_DURATIONS = {46}
_EPOCH = datetime(1899, 12, 30)
_FIRST_SERIAL = -96_439_724  # calamine's first date (262,143 BC): before it, the number
_COLUMNS = {lim.column_letters(n).encode(): n for n in range(1, 16385)}  # A → 1 … XFD


class _Decline(Exception):
    """Something this reader does not read for sure: calamine reads the file instead."""


def read_xlsx(
    name: str, data: bytes, limits: Limits, notes: list[tuple[str, str]]
) -> list[SheetData] | None:
    """The worksheets of an .xlsx/.xlsm in `data`, or None when calamine should read it.

    Refuses (UnreadableFile) what is over the limits: the zip's directory as limits.check_zip
    does, and each sheet's extent before its grid is built. Appends the zip's notes (macros)."""
    try:
        infos = _directory(data)
        if WORKBOOK not in infos or WORKBOOK_RELS not in infos or "mimetype" in infos:
            return None  # not an ordinary OOXML workbook (an .ods, or parts moved): calamine
        lim.check_directory(name, list(infos.values()), limits)
        members = _Members(data, infos)
        rels = _relationships(members.read(WORKBOOK_RELS), "xl")
        date1904, listed = _workbook(members.read(WORKBOOK))
        book = _Book(
            _shared_strings(members.read(rels.get("sharedStrings"))),
            _date_styles(members.read(rels.get("styles"))),
            date1904,
            members.digest(rels.get("sharedStrings"), rels.get("styles")) + bytes([date1904]),
        )
        sheets = []
        for sheet_name, rel_id, hidden in listed:
            if rel_id not in rels["by_id"]:
                raise _Decline(f"sheet {sheet_name} has no part")
            target, kind = rels["by_id"][rel_id]
            if kind != _WORKSHEET_REL:
                continue  # a chart or dialog sheet holds no cells to read
            xml = members.read(target)
            if xml is None:
                raise _Decline(f"missing sheet {target}")
            rows = _rows(name, sheet_name, xml, book, limits)
            sheets.append((sheet_name, rows, hidden, _merged(xml)))
    except (
        _Decline,
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
        EOFError,
        ValueError,
        IndexError,
        KeyError,
    ):
        return None  # calamine reads it, after limits.check_zip says what is wrong with it
    notes += lim.zip_notes(infos)
    return sheets


class _Entry(NamedTuple):
    """A zip member as the central directory lists it (the zipfile.ZipInfo fields used here)."""

    filename: str
    flag_bits: int
    compress_type: int
    CRC: int
    compress_size: int
    file_size: int
    header_offset: int


_END_OF_DIRECTORY = struct.Struct("<4s4H2LH")
_DIRECTORY_ENTRY = struct.Struct("<4s6H3L5H2L")


def _directory(data: bytes) -> dict[str, _Entry]:
    """The zip's members by name, read from its central directory with struct (zipfile builds
    far more per member than a reader needs). Declines what zipfile handles and this does not:
    ZIP64, split archives, data before the zip."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))  # the last 22 bytes + a comment
    if end == -1:
        raise _Decline("no end of central directory")
    _, disk, first_disk, _, count, size, offset, _ = _END_OF_DIRECTORY.unpack_from(data, end)
    if disk or first_disk or count == 0xFFFF or offset == 0xFFFFFFFF or offset + size > end:
        raise _Decline("ZIP64, split or shifted archive")
    members, pos = {}, offset
    for _ in range(count):
        fields = _DIRECTORY_ENTRY.unpack_from(data, pos)
        flags, method, crc, packed, size, name_len, extra_len, comment_len = (
            fields[3], fields[4], fields[7], fields[8], fields[9], fields[10], fields[11], fields[12]
        )  # fmt: skip
        local = fields[16]
        if fields[0] != b"PK\x01\x02" or 0xFFFFFFFF in (packed, size, local):
            raise _Decline("not a plain central directory entry")
        raw = data[pos + 46 : pos + 46 + name_len]
        name = raw.decode("utf-8" if flags & 0x800 else "cp437")
        members[name] = _Entry(name, flags, method, crc, packed, size, local)
        pos += 46 + name_len + extra_len + comment_len
    return members


class _Book(NamedTuple):
    """What a cell's value depends on beyond its own XML."""

    strings: list[str | None]  # shared strings by index
    dates: dict[bytes, str]  # style index → "date" or "duration"
    date1904: bool
    context: bytes  # a digest of the three: rows are remembered under it


class _Members:
    """Members inflated whole on demand; declines those too large or stored unusually."""

    def __init__(self, data: bytes, infos: dict[str, _Entry]):
        self.data, self.infos = data, infos

    def read(self, member: str | None) -> bytes | None:
        info = self.infos.get(member) if member else None
        if info is None:
            return None
        raw = lim.stored_bytes(self.data, info)
        if raw is None:
            raise _Decline(f"{member} is streamed")
        # The workbook, its relations and styles are the same in every copy of a template: the
        # same stored bytes give the same content, inflated and checked once.
        key = (raw, info.compress_type, info.file_size, info.CRC)
        xml = _INFLATED.get(key)
        if xml is None:
            xml = lim.inflate(raw, info)
            if _PREFIXED_ROOT.search(xml, 0, 512) or b"\x00" in xml[:64]:
                raise _Decline(f"{member} uses namespace prefixes, or is not UTF-8")
            if len(raw) <= _REUSED_BYTES:
                if len(_INFLATED) >= 256:
                    _INFLATED.clear()
                _INFLATED[key] = xml
        return xml

    def digest(self, *members: str | None) -> bytes:
        """A digest of members as stored: equal digests, equal contents (absent ones count)."""
        digest = hashlib.blake2b(digest_size=16)
        for member in members:
            info = self.infos.get(member) if member else None
            raw = lim.stored_bytes(self.data, info) if info else b""
            if raw is None:
                raise _Decline(f"{member} is streamed")
            digest.update(len(raw).to_bytes(8, "little") + raw)
        return digest.digest()


_REUSED_BYTES = 4096  # stored members this small are remembered (workbook, relations, styles)
_INFLATED: dict[tuple, bytes] = {}


@lru_cache(maxsize=64)
def _workbook(xml: bytes | None) -> tuple[bool, tuple[tuple[str, str, bool], ...]]:
    """(dates counted from 1904, its sheets in order as (name, relationship id, hidden))."""
    if xml is None:
        raise _Decline("no workbook part")
    sheets = []
    for attrs in _SHEET.findall(xml):
        sheet = _attributes(attrs)
        hidden = sheet.get("state", b"visible") != b"visible"  # hidden, veryHidden
        name = _attribute_text(sheet.get("name", b""))
        sheets.append((name, sheet.get("r:id", b"").decode(), hidden))
    return _DATE1904.search(xml) is not None, tuple(sheets)


def _attributes(attrs: bytes) -> dict[str, bytes]:
    return {key.decode(): value for key, _, value in _ATTR.findall(attrs)}


@lru_cache(maxsize=64)
def _relationships(xml: bytes | None, base: str) -> dict:
    """Targets of the workbook's parts: by relationship id, and the shared strings and styles."""
    out: dict = {"by_id": {}}
    for attrs in _RELATIONSHIP.findall(xml or b""):
        rel = _attributes(attrs)
        if rel.get("TargetMode") == b"External":
            continue
        target = _attribute_text(rel.get("Target", b""))
        path = target.lstrip("/") if target.startswith("/") else f"{base}/{target}"
        path = posixpath.normpath(path)
        kind = rel.get("Type", b"").decode().rsplit("/", 1)[-1]
        out["by_id"][rel.get("Id", b"").decode()] = (path, "/" + kind)
        if kind in ("sharedStrings", "styles"):
            out.setdefault(kind, path)
    return out


def _text(raw: bytes, keep_space: bool = True) -> str:
    """XML text as a string: entities and Excel's _xHHHH_ escapes resolved. Without
    `keep_space` (a <t> without xml:space="preserve"), the whitespace at its ends goes, as
    calamine drops it once the entities are resolved."""
    text = raw.decode("utf-8")
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    if not keep_space:
        text = text.strip(_XML_SPACE)
    if "_x" in text:
        text = _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def _attribute_text(raw: bytes) -> str:
    """An attribute's value as a string: XML's references resolved (no _xHHHH_ in names)."""
    text = raw.decode("utf-8")
    return _ENTITY.sub(_entity, text) if "&" in text else text


def _entity(m: re.Match[str]) -> str:
    hex_code, code, name = m.groups()
    return _NAMED[name] if name else chr(int(hex_code, 16) if hex_code else int(code))


def _rich_text(body: bytes) -> str:
    """The text of a string item or inline string: its runs joined, phonetic guides left out."""
    if b"<rPh" in body:
        body = _PHONETIC.sub(b"", body)
    return "".join(  # escapes are a run's own, as calamine has them
        _text(text, keep_space=b"preserve" in attrs) for attrs, text in _TEXT.findall(body)
    )


@lru_cache(maxsize=16)
def _shared_strings(xml: bytes | None) -> list[str | None]:
    """The shared strings by index, None for an empty one (a cell showing it has no value).
    Memoised by content: a template's copies come back with the same strings."""
    if xml is None:
        return []
    items = _STRING_ITEM.findall(xml)
    if len(items) != xml.count(b"<si"):  # an item this pattern missed would shift every index
        raise _Decline("a shared string item written unusually")
    out = []
    for body in items:
        if body.startswith(b"<t>") and body.endswith(b"</t>") and body.count(b"<t") == 1:
            out.append(_text(body[3:-4], keep_space=False))
        else:
            out.append(_rich_text(body))
    return [text or None for text in out]


@lru_cache(maxsize=64)
def _date_styles(xml: bytes | None) -> dict[bytes, str]:
    """Cell style index (as in s="3") → "date" or "duration", for styles whose number format
    shows one. Memoised by content: a province's template comes back with the same styles."""
    if xml is None:
        return {}
    custom = {}
    for attrs in _NUM_FMT.findall(xml):
        fmt = _attributes(attrs)
        if "numFmtId" in fmt:
            custom[int(fmt["numFmtId"])] = date_format_kind(
                _attribute_text(fmt.get("formatCode", b""))
            )
    xfs = _CELL_XFS.search(xml)
    out = {}
    for index, attrs in enumerate(_XF.findall(xfs.group(1) if xfs else b"")):
        fmt_id = int(_attributes(attrs).get("numFmtId", b"0"))
        kind = custom.get(fmt_id) if fmt_id in custom else _builtin_kind(fmt_id)
        if kind:
            out[str(index).encode()] = kind
    return out


def _builtin_kind(fmt_id: int) -> str | None:
    return (
        "date" if fmt_id in _BUILTIN_DATES else "duration" if fmt_id in _BUILTIN_DURATIONS else None
    )


def date_format_kind(code: str) -> str | None:
    """ "date" when a number format code shows a date or time ("dd/mm/yyyy", "h:mm"),
    "duration" for elapsed time ("[h]:mm"), else None. Only the first section counts; quoted
    text, escaped characters and bracketed colours or conditions are not format tokens."""
    i, n = 0, len(code)
    while i < n:
        ch = code[i]
        if ch in "\\_*":  # the next character is a literal (escaped, a width, a fill)
            i += 2
            continue
        if ch == '"':
            close = code.find('"', i + 1)
            i = n if close == -1 else close + 1
            continue
        if ch == ";":
            return None
        if ch == "[":
            close = code.find("]", i + 1)
            inner = code[i + 1 : n if close == -1 else close].lower()
            if inner and inner[0] in "hms" and inner == inner[0] * len(inner):
                return "duration"
            i = n if close == -1 else close + 1
            continue
        if ch in "dmyhsDMYHS":
            return "date"
        if code.startswith(("AM/PM", "am/pm", "A/P", "a/p"), i):
            return "date"
        i += 1
    return None


def _date_value(number: float, kind: str, date1904: bool) -> object:
    """An Excel date serial as calamine gives it: a timedelta for elapsed time, a time of day
    below 1 (negative ones too), a date at midnight, else a datetime; the number itself when no
    date can hold it (past the year 9999)."""
    serial = number + 1462 if date1904 else number
    try:
        if kind == "duration":
            return timedelta(milliseconds=_milliseconds(serial))
        if serial < _FIRST_SERIAL:
            return number
        # Excel counts a 29 February 1900 that never was: calamine shifts what comes before it
        ms = _milliseconds(serial if serial >= 60 else serial + 1)
        if serial < 1:  # its time of day (the day itself may be before year 1)
            return (_EPOCH + timedelta(milliseconds=ms % 86_400_000)).time()
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return number
    return moment.date() if serial.is_integer() else moment  # a whole day is a date


def _milliseconds(days: float) -> int:
    """Days in whole milliseconds, a half rounded away from zero as calamine (Rust) rounds it;
    Python's round() would take it to the even one."""
    exact = abs(days * 86_400_000)
    whole = math.floor(exact)  # exact - whole is exact; exact + 0.5 would round first
    half_up = whole + (exact - whole >= 0.5)
    return half_up if days >= 0 else -half_up


def _column(letters: bytes) -> int:
    """1-based column number of a reference's letters (A → 1), from the table up to XFD."""
    return _COLUMNS.get(letters) or lim.column_number(letters)


def _rows(
    name: str,
    sheet: str,
    xml: bytes,
    book: _Book,
    limits: Limits,
) -> list[list[object]]:
    """The sheet's dense grid from row 1 and column A, None where no value; its extent is
    checked against the limits as it grows, before any grid is built.

    Each <row> is read once per content: a province's template comes back from every commune
    with the same prefilled rows (title, header, one row per unit), so a row's cells are
    remembered by its XML and the workbook's strings and styles (`book.context`), and only the
    rows a commune filled in are parsed again."""
    start, end = xml.find(b"<sheetData"), xml.rfind(b"</sheetData>")
    if start == -1 or end == -1:
        return []  # no cells (<sheetData/>)
    memo, context = _ROW_MEMO, book.context
    max_rows, max_columns, max_cells = limits.max_rows, limits.max_columns, limits.max_cells
    by_number: dict[int, tuple[object, ...]] = {}
    height = width = 0
    for chunk in xml[xml.find(b">", start) + 1 : end].split(b"</row>"):
        row = memo.get((context, chunk))
        if row is None:
            row = _parse_row(chunk, book, name, sheet, limits)
            if len(memo) >= _ROW_MEMO_SIZE:
                memo.clear()
            memo[(context, chunk)] = row
        if row is _NO_CELLS:
            continue
        number, cells = row
        if number in by_number:
            raise _Decline(f"row {number} given twice")
        by_number[number] = cells
        if number > height:
            height = number
        if len(cells) > width:
            width = len(cells)
        if height > max_rows or width > max_columns or height * width > max_cells:
            lim.check_grid(name, sheet, height, width, limits)  # refuses, naming the limit
    grid = []
    for number in range(1, height + 1):
        cells = by_number.get(number, ())
        grid.append([*cells, *(None,) * (width - len(cells))])
    return grid


_NO_CELLS = ("no cells",)  # a chunk of sheet XML with no cell that has a value
_ROW_MEMO: dict[tuple[bytes, bytes], tuple] = {}  # (book.context, row XML) → (number, cells)
_ROW_MEMO_SIZE = 50_000  # rows remembered per process (~20 MB), then forgotten at once


def _parse_row(
    chunk: bytes, book: _Book, name: str, sheet: str, limits: Limits
) -> tuple[int, tuple[object, ...]] | tuple[str]:
    """(row number, its cells from column A) of one <row> element's XML, or _NO_CELLS.

    The cells' parts are taken apart column-wise by C-level calls (zip, map) and the common
    values (a number, a shared or plain inline string) made in one comprehension; the rest go
    one by one through _cell_value."""
    if chunk.count(b"<c") != chunk.count(b'<c r="') or b":c " in chunk or b":c>" in chunk:
        raise _Decline("cells without a reference first, or with a namespace prefix")
    found = _CELL.findall(chunk)
    if not found:
        return _NO_CELLS
    letters, digits, styles, kinds, attrs, numbers, inlines, others = zip(*found, strict=True)
    if digits.count(digits[0]) != len(digits):
        raise _Decline("cells of several rows in one <row>")
    number = int(digits[0])
    cols = list(map(_COLUMNS.get, letters))
    if None in cols:  # past XFD: refused below unless the limits were raised that far
        cols = list(map(_column, letters))
    width = max(cols)
    lim.check_grid(name, sheet, number, width, limits)
    strings, dates = book.strings, book.dates
    values = [
        _OTHER
        if a or o
        else (_OTHER if s and s in dates else float(n))
        if n and (not k or k == b"n")
        else strings[int(n)]
        if n and k == b"s"
        else i.decode().strip(_XML_SPACE) or None
        if i
        else None
        if not n
        else _OTHER
        for s, k, a, n, i, o in zip(styles, kinds, attrs, numbers, inlines, others, strict=True)
    ]
    joined = b"".join(inlines)
    plain_inline = b"&" not in joined and b"_x" not in joined
    cells: list[object] = [None] * width
    for j, (col, value) in enumerate(zip(cols, values, strict=True)):
        if value is _OTHER or (not plain_inline and inlines[j]):
            value = _cell_value(found[j], book)
        if value is not None:
            cells[col - 1] = value
    return number, tuple(cells)


_OTHER = object()  # a cell the comprehension in _parse_row leaves to _cell_value


def _cell_value(cell: tuple[bytes, ...], book: _Book) -> object:
    """One cell's value from its _CELL parts, whatever its type, style and attribute order;
    None for none (an empty text, a formula error)."""
    _, _, style, kind, attrs, number, inline, other = cell
    if attrs:  # an attribute the usual order did not place (cm="1", or t before s)
        style = style or next(iter(_STYLE.findall(attrs)), b"")
        kind = kind or next(iter(_TYPE.findall(attrs)), b"")
    if inline:
        return _text(inline, keep_space=False) or None
    if kind == b"inlineStr":
        return _rich_text(other) or None
    raw = number or _cached(other)
    if not raw:
        return None
    if kind == b"s":
        return book.strings[int(raw)]
    if kind in (b"", b"n"):
        value = float(raw)
        date = book.dates.get(style) if style else None
        return _date_value(value, date, book.date1904) if date else value
    if kind == b"str":
        return _text(raw) or None
    if kind == b"b":
        return raw.strip() not in (b"0", b"false")
    if kind == b"e":
        return None  # #DIV/0!, #N/A: no figure (calamine gives an empty text)
    raise _Decline(f"cell type {kind!r}")


def _cached(body: bytes) -> bytes:
    """The <v> of a cell's body (after its formula, if any), b"" when it has none."""
    if body.endswith(b"</v>"):
        start = body.rfind(b"<v>")
        if start != -1:
            return body[start + 3 : -4]
    if b"<v" not in body:
        return b""
    found = _VALUE.search(body)
    return found.group(1) if found else b""


def _merged(xml: bytes) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Merged ranges as ((first row, first column), (last row, last column)), 0-based."""
    if b"<mergeCell" not in xml:
        return []
    return [
        ((int(r0) - 1, _column(c0) - 1), (int(r1) - 1, _column(c1) - 1))
        for c0, r0, c1, r1 in _MERGE.findall(xml)
    ]
