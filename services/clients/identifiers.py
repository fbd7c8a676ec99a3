"""Personal identifiers on the client record: sealed (encrypted + keyed hash + mask), revealed, erased."""

from __future__ import annotations

from typing import Literal

import phonenumbers

from crmkit.crypto import FieldCipher, mask_middle
from services.clients.identity_documents import IdentityDocument, IdentityDocumentType
from services.clients.models import Client

# The identity document's context keeps its first name: every stored ciphertext and hash was made with it.
RESIDENT_ID_CONTEXT = "clients.resident_id"
PHONE_CONTEXT = "clients.phone"

Identifier = Literal["resident_id", "phone"]
# What an audited reveal may ask for; ``resident_id`` (deprecated) only when the document is one.
RevealableField = Literal["id_document_number", "resident_id", "phone"]
IDENTIFIERS: tuple[Identifier, ...] = ("resident_id", "phone")
_CONTEXTS: dict[Identifier, str] = {"resident_id": RESIDENT_ID_CONTEXT, "phone": PHONE_CONTEXT}


def mask_resident_id(resident_id: str) -> str:
    return mask_middle(resident_id, keep_start=3, keep_end=4)


def mask_phone(e164: str) -> str:
    """``+8613812345678`` → ``+86 138****5678``."""
    parsed = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(parsed)
    return f"+{parsed.country_code} {mask_middle(national, keep_start=3, keep_end=4)}"


def lookup_hash(cipher: FieldCipher, field: Identifier, normalised: str) -> bytes:
    """The keyed digest stored beside the ciphertext, for exact search without decrypting."""
    return cipher.lookup_hash(normalised, context=_CONTEXTS[field])


def seal_identity_document(client: Client, cipher: FieldCipher, document: IdentityDocument | None) -> None:
    """The number encrypted, its keyed hash (over ``lookup_key``) and mask; type and country in clear."""
    if document is None:
        client.resident_id_cipher = client.resident_id_hmac = client.resident_id_masked = None
        client.id_document_type = client.id_document_country = None
        return
    client.resident_id_cipher = cipher.encrypt(document.number, context=RESIDENT_ID_CONTEXT)
    client.resident_id_hmac = lookup_hash(cipher, "resident_id", document.lookup_key)
    client.resident_id_masked = document.masked
    client.id_document_type = document.type.value
    client.id_document_country = document.country


def masked_resident_id(document_type: str | None, masked_number: str | None) -> str | None:
    """The legacy ``resident_id`` field of a read: the masked number when the document is a resident ID."""
    return masked_number if document_type == IdentityDocumentType.RESIDENT_ID else None


def seal_phone(client: Client, cipher: FieldCipher, value: str | None) -> None:
    client.phone_cipher = cipher.encrypt(value, context=PHONE_CONTEXT) if value else None
    client.phone_hmac = lookup_hash(cipher, "phone", value) if value else None
    client.phone_masked = mask_phone(value) if value else None


def has_identifiers(client: Client) -> bool:
    return client.resident_id_cipher is not None or client.phone_cipher is not None


def erase_identifiers(client: Client) -> None:
    """Ciphertext, keyed hash and mask all go: nothing is left to decrypt, search or show."""
    client.resident_id_cipher = client.resident_id_hmac = client.resident_id_masked = None
    client.id_document_type = client.id_document_country = None
    client.phone_cipher = client.phone_hmac = client.phone_masked = None


def unseal(client: Client, cipher: FieldCipher, field: Identifier) -> str | None:
    blob = client.resident_id_cipher if field == "resident_id" else client.phone_cipher
    return cipher.decrypt(blob, context=_CONTEXTS[field]) if blob is not None else None


def unseal_field(client: Client, cipher: FieldCipher, field: RevealableField) -> str | None:
    """The unmasked value a reveal asks for (``None``: nothing of that kind on file)."""
    if field == "phone":
        return unseal(client, cipher, "phone")
    if field == "resident_id" and client.id_document_type != IdentityDocumentType.RESIDENT_ID:
        return None
    return unseal(client, cipher, "resident_id")
