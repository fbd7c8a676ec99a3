"""A client's identity document: its type, and each type's own rule for a well-formed number.

Sources of the rules (see docs/clients.md, "Identity documents"):

- 居民身份证 (``resident_id``): GB 11643-1999 公民身份号码 — 6-digit address code, 8-digit birth
  date, 3-digit sequence, ISO 7064 MOD 11-2 check digit. The address code is where the number was
  *assigned*, so it must exist in the GB/T 2260 region list at any time, not in the holder's birth
  year (python-stdnum's own ``cn/loc`` data, read through ``stdnum.numdb``, year ranges ignored).
- 港澳台居民居住证 (``hk_mo_tw_residence_permit``): 《港澳台居民居住证申领发放办法》(国办发 [2018] 81
  号) 第五条: a 公民身份号码 whose address code is 810000 (Hong Kong), 820000 (Macao) or 830000
  (Taiwan); same birth date and check digit as GB 11643.
- 外国人永久居留身份证, 2023 format (``foreign_permanent_residence_id``): 国家移民管理局《新版外国人
  永久居留身份证机读信息规则(2023版)》, in use from 2023-12-01: 18 characters, first digit ``9``,
  then the province of acceptance (2 digits), nationality (3 digits), birth date (8 digits),
  sequence (3 digits), and a MOD 11-2 check digit "与公民身份号码校验方式相同".
- passport (``passport``): the number as printed (ICAO Doc 9303 document number: letters and
  digits, at most 9 in the machine-readable zone) and the issuing country, ISO 3166-1 alpha-3 or
  alpha-2 (stored as alpha-3), checked with ``pycountry``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache

import pycountry
from stdnum import numdb
from stdnum.cn import ric

from crmkit.crypto import mask_middle


class IdentityDocumentType(StrEnum):
    RESIDENT_ID = "resident_id"
    HK_MO_TW_RESIDENCE_PERMIT = "hk_mo_tw_residence_permit"
    FOREIGN_PERMANENT_RESIDENCE_ID = "foreign_permanent_residence_id"
    PASSPORT = "passport"


DOCUMENT_TYPES = tuple(t.value for t in IdentityDocumentType)
_T = IdentityDocumentType
LABELS: dict[IdentityDocumentType, str] = {
    _T.RESIDENT_ID: "居民身份证 (resident ID)",
    _T.HK_MO_TW_RESIDENCE_PERMIT: "港澳台居民居住证 (Hong Kong, Macao and Taiwan residence permit)",
    _T.FOREIGN_PERMANENT_RESIDENCE_ID: "外国人永久居留身份证 (foreign permanent residence ID)",
    _T.PASSPORT: "passport",
}
# Words a spreadsheet may use for the type (CSV import); the values themselves are accepted too.
TYPE_WORDS: dict[str, IdentityDocumentType] = {
    "居民身份证": IdentityDocumentType.RESIDENT_ID,
    "身份证": IdentityDocumentType.RESIDENT_ID,
    "港澳台居民居住证": IdentityDocumentType.HK_MO_TW_RESIDENCE_PERMIT,
    "居住证": IdentityDocumentType.HK_MO_TW_RESIDENCE_PERMIT,
    "外国人永久居留身份证": IdentityDocumentType.FOREIGN_PERMANENT_RESIDENCE_ID,
    "永居证": IdentityDocumentType.FOREIGN_PERMANENT_RESIDENCE_ID,
    "护照": IdentityDocumentType.PASSPORT,
    **{t.value: t for t in IdentityDocumentType},
}
PERMIT_PREFIXES = {"810000": "Hong Kong", "820000": "Macao", "830000": "Taiwan"}
GB11643_TYPES = frozenset(
    {
        IdentityDocumentType.RESIDENT_ID,
        IdentityDocumentType.HK_MO_TW_RESIDENCE_PERMIT,
        IdentityDocumentType.FOREIGN_PERMANENT_RESIDENCE_ID,
    }
)
NUMBER, COUNTRY = "id_document_number", "id_document_country"
DOCUMENT_FIELDS = frozenset({"id_document_type", NUMBER, COUNTRY, "resident_id"})
_GB11643_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_PASSPORT_SHAPE = re.compile(r"^[A-Z0-9]{5,9}$")


class DocumentRejected(ValueError):
    """One field of a document is wrong: ``field`` is the request field (``id_document_number``, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """A checked document: normalised number, alpha-3 issuing country (passports), birth date it carries."""

    type: IdentityDocumentType
    number: str
    country: str | None
    birth_date: date | None

    @property
    def lookup_key(self) -> str:
        """What the keyed hash covers. The three GB 11643 numbers cannot collide across types
        (address codes from the region list / 81-83 / 9), so the bare number is the key: a resident
        ID keeps the hash it had before documents had types, and a search by number needs no type.
        A passport number is unique only within its issuing country, so type and country are in."""
        if self.type is IdentityDocumentType.PASSPORT:
            return f"passport:{self.country}:{self.number}"
        return self.number

    @property
    def masked(self) -> str:
        return mask(self.type, self.number)


def mask(kind: IdentityDocumentType, number: str) -> str:
    """``110***********1234`` for the 18-character numbers, ``E******78`` for a passport."""
    if kind is IdentityDocumentType.PASSPORT:
        return mask_middle(number, keep_start=1, keep_end=2)
    return mask_middle(number, keep_start=3, keep_end=4)


def compact(number: str) -> str:
    return re.sub(r"[\s\-]", "", number).upper()


@cache
def _region_names(code: str) -> tuple[str, ...]:
    """The names a 6-digit address code had at any time in stdnum's region list (empty: never existed)."""
    found = numdb.get("cn/loc").info(code)
    names: list[str] = []
    for _part, props in found:
        county = props.get("county")
        if county:
            names.extend(name.split("]")[-1] for name in county.split(","))
    return tuple(names)


def region_ever_existed(code: str) -> bool:
    return bool(_region_names(code))


def _birth_date(number: str) -> date:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DocumentRejected(
            NUMBER, f"impossible birth date {number[6:10]}-{number[10:12]}-{number[12:14]} in the number"
        ) from None


def _gb11643(number: str, label: str) -> date:
    """Shape, check digit and birth date, common to the three 18-character numbers."""
    if len(number) != 18:
        raise DocumentRejected(NUMBER, f"a {label} number has 18 characters (got {len(number)})")
    if not _GB11643_SHAPE.match(number):
        raise DocumentRejected(NUMBER, f"a {label} number is 17 digits and a check digit (0-9 or X)")
    if number[-1] != ric.calc_check_digit(number):
        raise DocumentRejected(NUMBER, "the check digit does not match the other 17 digits; check for a typo")
    return _birth_date(number)


def _looks_like(number: str) -> IdentityDocumentType | None:
    """The type whose format a number has (checksum included), to name it when the wrong type is sent."""
    if len(number) == 18 and _GB11643_SHAPE.match(number) and number[-1] == ric.calc_check_digit(number):
        if number[:6] in PERMIT_PREFIXES:
            return IdentityDocumentType.HK_MO_TW_RESIDENCE_PERMIT
        if number[0] == "9":
            return IdentityDocumentType.FOREIGN_PERMANENT_RESIDENCE_ID
        return IdentityDocumentType.RESIDENT_ID if region_ever_existed(number[:6]) else None
    if _PASSPORT_SHAPE.match(number) and not number.isdigit():
        return IdentityDocumentType.PASSPORT
    return None


def _other_type(number: str, kind: IdentityDocumentType) -> None:
    other = _looks_like(number)
    if other is not None and other is not kind:
        raise DocumentRejected(
            NUMBER,
            f"this is the format of a {LABELS[other]} number, not of a {LABELS[kind]}: "
            f"send id_document_type {other.value}",
        )


def _resident_id(number: str) -> IdentityDocument:
    _other_type(number, IdentityDocumentType.RESIDENT_ID)
    birth = _gb11643(number, "resident ID")
    if not region_ever_existed(number[:6]):
        raise DocumentRejected(NUMBER, f"unknown region code {number[:6]}: no such address code ever existed")
    return IdentityDocument(IdentityDocumentType.RESIDENT_ID, number, None, birth)


def _permit(number: str) -> IdentityDocument:
    _other_type(number, IdentityDocumentType.HK_MO_TW_RESIDENCE_PERMIT)
    birth = _gb11643(number, "residence permit")
    if number[:6] not in PERMIT_PREFIXES:
        raise DocumentRejected(
            NUMBER,
            "a 港澳台居民居住证 number starts with 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan)",
        )
    return IdentityDocument(IdentityDocumentType.HK_MO_TW_RESIDENCE_PERMIT, number, None, birth)


def _foreign_permanent(number: str) -> IdentityDocument:
    _other_type(number, IdentityDocumentType.FOREIGN_PERMANENT_RESIDENCE_ID)
    birth = _gb11643(number, "foreign permanent residence ID")
    if number[0] != "9":
        raise DocumentRejected(NUMBER, "a 2023-format 外国人永久居留身份证 number starts with 9")
    if not region_ever_existed(number[1:3] + "0000"):
        raise DocumentRejected(
            NUMBER, f"unknown province code {number[1:3]} (digits 2-3, place of acceptance)"
        )
    return IdentityDocument(IdentityDocumentType.FOREIGN_PERMANENT_RESIDENCE_ID, number, None, birth)


def issuing_country(value: str) -> str:
    """ISO 3166-1 alpha-3 (``CHN``) or alpha-2 (``CN``), case-insensitive, as alpha-3."""
    code = value.strip().upper()
    country = None
    if len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    elif len(code) == 2:
        country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise DocumentRejected(COUNTRY, f"{value!r} is not an ISO 3166-1 alpha-3 or alpha-2 country code")
    return str(country.alpha_3)


def _passport(number: str, country: str | None) -> IdentityDocument:
    if country is None:
        raise DocumentRejected(COUNTRY, "a passport needs its issuing country (ISO 3166-1, e.g. CHN)")
    alpha_3 = issuing_country(country)
    other = _looks_like(number)
    if other is not None and other is not IdentityDocumentType.PASSPORT:
        raise DocumentRejected(
            NUMBER,
            f"this is the format of a {LABELS[other]} number, not of a passport: "
            f"send id_document_type {other.value}",
        )
    if not _PASSPORT_SHAPE.match(number):
        raise DocumentRejected(NUMBER, "a passport number is 5 to 9 letters and digits (ICAO Doc 9303)")
    return IdentityDocument(IdentityDocumentType.PASSPORT, number, alpha_3, None)


def check_document(kind: IdentityDocumentType, number: str, country: str | None = None) -> IdentityDocument:
    """The document checked by its type's own rule; ``DocumentRejected`` names the field and the reason."""
    number = compact(number)
    if not number:
        raise DocumentRejected(NUMBER, "cannot be empty")
    if kind is IdentityDocumentType.PASSPORT:
        return _passport(number, country)
    if country is not None:
        raise DocumentRejected(COUNTRY, "only a passport has an issuing country")
    if kind is IdentityDocumentType.RESIDENT_ID:
        return _resident_id(number)
    if kind is IdentityDocumentType.HK_MO_TW_RESIDENCE_PERMIT:
        return _permit(number)
    return _foreign_permanent(number)


def stored_birth_date(kind: str | None, number: str | None) -> date | None:
    """The birth date a stored (already checked) number carries; none for a passport."""
    if kind is None or number is None or IdentityDocumentType(kind) not in GB11643_TYPES:
        return None
    return _birth_date(number)


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """The document a request sets (``None``: it removes the document) and the field that carried it."""

    document: IdentityDocument | None
    field: str


def requested_document(
    *,
    kind: IdentityDocumentType | None,
    number: str | None,
    country: str | None,
    resident_id: str | None,
    given: set[str],
) -> DocumentChange | None:
    """What the request does to the document (``None``: it names no document field, nothing changes).

    The deprecated ``resident_id`` field is ``id_document_number`` with type ``resident_id``; sending
    both ways at once is refused rather than guessed at. A type or country without a number is refused:
    a document is replaced whole, never re-read under another type."""
    named = given & DOCUMENT_FIELDS
    if not named:
        return None
    if "resident_id" in named:
        if named - {"resident_id"}:
            raise DocumentRejected(
                "resident_id", "send either resident_id (deprecated) or the id_document_* fields, not both"
            )
        document = check_document(IdentityDocumentType.RESIDENT_ID, resident_id) if resident_id else None
        return DocumentChange(document, "resident_id")
    if number is None:
        if kind is not None or country is not None:
            raise DocumentRejected(NUMBER, "required with id_document_type or id_document_country")
        return DocumentChange(None, NUMBER)
    return DocumentChange(check_document(kind or IdentityDocumentType.RESIDENT_ID, number, country), NUMBER)
