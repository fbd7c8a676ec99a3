"""Claim type → the documents the insurer requires (manual §五.2: guide the client's documents).

Kept as data: adding a document to a claim type is a change here, not in the rules. Codes are
stable identifiers; names are what the agent and the client read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ClaimType(StrEnum):
    CRITICAL_ILLNESS = "critical_illness"
    MEDICAL = "medical"
    ACCIDENT = "accident"
    DEATH = "death"
    DISABILITY = "disability"


@dataclass(frozen=True, slots=True)
class RequiredDocument:
    code: str
    name: str
    name_zh: str


CLAIM_FORM = RequiredDocument("claim_form", "Claim application form", "理赔申请书")
ID_COPY = RequiredDocument("id_copy", "Insured's ID copy", "被保险人身份证复印件")
BANK_ACCOUNT = RequiredDocument("bank_account", "Bank account for payment", "领款人银行账户")
DIAGNOSIS = RequiredDocument("diagnosis_certificate", "Diagnosis certificate", "诊断证明")
MEDICAL_RECORDS = RequiredDocument("medical_records", "Medical records", "病历")
PATHOLOGY = RequiredDocument("pathology_report", "Pathology report", "病理报告")
INVOICES = RequiredDocument("invoices", "Medical invoices", "医疗费用发票")
EXPENSE_LISTS = RequiredDocument("expense_lists", "Itemised expense lists", "费用明细清单")
DISCHARGE = RequiredDocument("discharge_summary", "Discharge summary", "出院小结")
ACCIDENT_PROOF = RequiredDocument("accident_proof", "Accident report or certificate", "意外事故证明")
DEATH_CERTIFICATE = RequiredDocument("death_certificate", "Death certificate", "死亡证明")
HOUSEHOLD_CANCELLATION = RequiredDocument(
    "household_registration_cancellation", "Household registration cancellation", "户籍注销证明"
)
BENEFICIARY_ID = RequiredDocument("beneficiary_id_copy", "Beneficiary's ID copy", "受益人身份证复印件")
RELATIONSHIP_PROOF = RequiredDocument("relationship_proof", "Proof of relationship", "关系证明")
DISABILITY_ASSESSMENT = RequiredDocument("disability_assessment", "Disability assessment", "伤残鉴定书")

CHECKLISTS: dict[ClaimType, tuple[RequiredDocument, ...]] = {
    ClaimType.CRITICAL_ILLNESS: (CLAIM_FORM, DIAGNOSIS, MEDICAL_RECORDS, PATHOLOGY, ID_COPY, BANK_ACCOUNT),
    ClaimType.MEDICAL: (
        CLAIM_FORM,
        INVOICES,
        EXPENSE_LISTS,
        DISCHARGE,
        MEDICAL_RECORDS,
        ID_COPY,
        BANK_ACCOUNT,
    ),
    ClaimType.ACCIDENT: (
        CLAIM_FORM,
        ACCIDENT_PROOF,
        DIAGNOSIS,
        MEDICAL_RECORDS,
        INVOICES,
        ID_COPY,
        BANK_ACCOUNT,
    ),
    ClaimType.DEATH: (
        CLAIM_FORM,
        DEATH_CERTIFICATE,
        HOUSEHOLD_CANCELLATION,
        ID_COPY,
        BENEFICIARY_ID,
        RELATIONSHIP_PROOF,
        BANK_ACCOUNT,
    ),
    ClaimType.DISABILITY: (
        CLAIM_FORM,
        DISABILITY_ASSESSMENT,
        ACCIDENT_PROOF,
        MEDICAL_RECORDS,
        ID_COPY,
        BANK_ACCOUNT,
    ),
}
