"""From uploaded bytes to mapped rows: encoding, CSV shape, header mapping and size limits.

Everything here fails before anything is stored: not CSV (415/422), too large (413), no name
column or a bad mapping (422).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from crmkit.problems import FieldError, PayloadTooLarge, ProblemError, Unprocessable

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
CSV_MEDIA_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"})

TARGETS = (
    "name",
    "gender",
    "birth_date",
    "resident_id",
    "id_document_type",
    "id_document_number",
    "id_document_country",
    "phone",
    "occupation",
    "occupation_class",
    "channel",
    "notes",
)
# Headers recognised without a mapping (compared after normalising case, spaces and full-width).
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "clientname", "姓名", "客户姓名", "客户名称", "名字"),
    "gender": ("gender", "sex", "性别"),
    "birth_date": ("birthdate", "dateofbirth", "dob", "birthday", "出生日期", "生日", "出生年月日"),
    "resident_id": ("residentid", "idnumber", "idcard", "身份证", "身份证号", "身份证号码"),
    "id_document_type": ("iddocumenttype", "documenttype", "idtype", "证件类型"),
    "id_document_number": ("iddocumentnumber", "documentnumber", "证件号码", "证件号"),
    "id_document_country": ("iddocumentcountry", "issuingcountry", "签发国", "签发国家"),
    "phone": ("phone", "mobile", "mobilephone", "cell", "手机", "手机号", "手机号码", "电话", "联系电话"),
    "occupation": ("occupation", "job", "职业"),
    "occupation_class": ("occupationclass", "职业类别", "职业等级"),
    "channel": ("channel", "source", "渠道", "来源", "获客渠道"),
    "notes": ("notes", "note", "remarks", "备注"),
}


class NotCsv(ProblemError):
    """The same problem type as any other unsupported media type (``Accept`` names text/csv)."""

    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class NotReadableCsv(Unprocessable):
    """The body was sent as CSV but is not one we can read."""


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: its spreadsheet row number (the header is row 1) and its mapped cells."""

    number: int
    cells: dict[str, str]


def header_key(header: str) -> str:
    """``' Phone_Number '`` → ``'phonenumber'``; ``'手机号 '`` → ``'手机号'``."""
    folded = unicodedata.normalize("NFKC", header).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def check_media_type(content_type: str | None) -> None:
    """The body is the CSV file itself (``Content-Type: text/csv``)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in CSV_MEDIA_TYPES:
        raise NotCsv(
            f"send the file as the request body with Content-Type: text/csv (got {media or 'none'})",
            headers={"Accept": ", ".join(sorted(CSV_MEDIA_TYPES))},
        )


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GBK/GB18030; binary content is not CSV."""
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it")
    if b"\x00" in data:
        raise NotReadableCsv(
            "the file is not a CSV text file (it holds binary data)", errors=[_file_error("binary")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise NotReadableCsv(
                "the file is neither UTF-8 nor GBK/GB18030 text", errors=[_file_error("unknown encoding")]
            ) from None
    if any(unicodedata.category(ch) in ("Cc", "Co", "Cs") and ch not in "\t\r\n" for ch in text):
        raise NotReadableCsv(
            "the file is not a CSV text file (it holds control characters)", errors=[_file_error("binary")]
        )
    return text


def _file_error(message: str) -> FieldError:
    return FieldError(field="file", message=message)


def parse_mapping(raw: str | None) -> dict[str, str]:
    """``{"name": "客户", "phone": "Mobile"}``: target field → header in the file."""
    if raw is None:
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise Unprocessable(
            "mapping must be a JSON object of field → header",
            errors=[FieldError(field="mapping", message="not a JSON object of strings")],
        )
    unknown = sorted(set(mapping) - set(TARGETS))
    if unknown:
        raise Unprocessable(
            f"mapping names unknown fields: {', '.join(unknown)}",
            errors=[
                FieldError(field=f"mapping.{u}", message=f"not a client field; one of {', '.join(TARGETS)}")
                for u in unknown
            ],
        )
    return {str(k): str(v) for k, v in mapping.items()}


def _columns(headers: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    """Target field → column index, from the mapping first, then the default headers."""
    keys = [header_key(h) for h in headers]
    columns: dict[str, int] = {}
    for target, header in mapping.items():
        if header_key(header) not in keys:
            raise Unprocessable(
                f"mapping: the file has no column {header!r}",
                errors=[FieldError(field=f"mapping.{target}", message=f"no column {header!r} in the file")],
            )
        columns[target] = keys.index(header_key(header))
    taken = set(columns.values())
    for target, aliases in DEFAULT_HEADERS.items():
        if target in columns:
            continue
        for index, key in enumerate(keys):
            if key in aliases and index not in taken:
                columns[target] = index
                taken.add(index)
                break
    if "name" not in columns:
        raise Unprocessable(
            'the file has no name column (姓名 / name); add one or map it with mapping={"name": ...}',
            errors=[FieldError(field="mapping.name", message="no name column")],
        )
    return columns


def read_rows(text: str, mapping: Mapping[str, str]) -> tuple[list[str], list[CsvRow]]:
    """The mapped fields and the non-blank data rows (413 past ``MAX_ROWS``)."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise NotReadableCsv(f"the file is not valid CSV: {exc}", errors=[_file_error(str(exc))]) from None
    if not records or not any(cell.strip() for cell in records[0]):
        raise NotReadableCsv("the file has no header row", errors=[_file_error("no header row")])
    columns = _columns(records[0], mapping)
    rows: list[CsvRow] = []
    for offset, record in enumerate(records[1:]):
        if not any(cell.strip() for cell in record):
            continue
        cells = {t: record[i].strip() if i < len(record) else "" for t, i in columns.items()}
        rows.append(CsvRow(number=offset + 2, cells=cells))
        if len(rows) > MAX_ROWS:
            raise PayloadTooLarge(f"the file has more than {MAX_ROWS} rows; split it")
    return sorted(columns), rows
