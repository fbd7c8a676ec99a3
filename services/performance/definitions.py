"""What the scorecard counts, as data: served at ``GET /api/v1/performance/definitions`` and
documented in docs/performance.md. Every counter says which published events feed it."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Definition(BaseModel):
    key: str
    name: str
    definition: str
    counted_in: str = Field(description="Which month a thing is counted in.")
    events: list[str] = Field(description="The published events (`docs/events-and-sync.md`) that feed it.")
    source: str | None = Field(default=None, description="Where the rule comes from (a seed section).")


class Definitions(BaseModel):
    effective_client: Definition
    closed_deal: Definition
    figures: list[Definition] = Field(description="First-year premium and the activity counts.")
    funnel: list[Definition]
    referral_share: Definition
    time_zone: str = Field(description="Months are calendar months in this business time zone.")


EFFECTIVE_CLIENT = Definition(
    key="effective_client",
    name="Effective client (有效客户)",
    definition=(
        "A client with a needs analysis saved and an effective tier of A or B. Counted once per"
        " client, for their owner at the time, in the month the second of the two conditions is"
        " first met; a later change of tier does not take it back."
    ),
    counted_in="the month the client first has both a needs analysis and tier A or B",
    events=["client.created", "client.reassigned", "client.tier_changed", "needs_assessment.saved"],
    source="manual 七.3 (3 effective clients a month); 一.3 (tiering A/B/C); 二 (needs analysis)",
)
CLOSED_DEAL = Definition(
    key="closed_deal",
    name="Closed deal (成交)",
    definition=(
        "An application whose first premium is confirmed (recorded before issue on the"
        " application). Counted in the month of the payment date; taken back from that month if"
        " the application is then declined, postponed or withdrawn (the premium is returned)."
    ),
    counted_in="the month of the first premium's `paid_on`",
    events=[
        "application.created",
        "application.first_premium_paid",
        "application.declined",
        "application.postponed",
        "application.withdrawn",
    ],
    source="manual 七.3 (2 closed deals a month)",
)
FIRST_YEAR_PREMIUM = Definition(
    key="first_year_premium",
    name="First-year premium (首年保费)",
    definition="The annual premium of each closed deal, counted with the deal.",
    counted_in="the month of the closed deal",
    events=["application.created", "application.first_premium_paid"],
)
ACTIVITIES = [
    Definition(
        key=kind + "s",
        name=kind,
        definition=f"Interactions of kind `{kind}` recorded with the agent's clients.",
        counted_in="the month of the interaction's `at`",
        events=["interaction.recorded"],
        source="manual 一.2 (appointments, visits, calls)",
    )
    for kind in ("appointment", "visit", "call")
]
FUNNEL = [
    Definition(
        key="leads",
        name="Leads by channel",
        definition="Clients created, by acquisition channel (warm market, referral, cold, online).",
        counted_in="the month the client was created",
        events=["client.created"],
    ),
    Definition(
        key="tiered",
        name="Tiered",
        definition="Clients given a tier for the first time.",
        counted_in="the month of the first tier",
        events=["client.tier_changed"],
    ),
    Definition(
        key="needs_analysed",
        name="Needs analysis",
        definition="Clients whose needs analysis was saved for the first time.",
        counted_in="the month of the first save",
        events=["needs_assessment.saved"],
    ),
    Definition(
        key="proposals",
        name="Proposal",
        definition="Proposals created.",
        counted_in="the month created",
        events=["proposal.created"],
    ),
    Definition(
        key="applications",
        name="Application",
        definition="Applications created.",
        counted_in="the month created",
        events=["application.created"],
    ),
    Definition(
        key="issued",
        name="Issued",
        definition="Policies issued (renewals left out).",
        counted_in="the month issued",
        events=["policy.issued"],
    ),
    Definition(
        key="in_force",
        name="In force",
        definition="Policies that reached in force (return visit done after the receipt).",
        counted_in="the month they reached in force",
        events=["policy.in_force"],
    ),
]
REFERRAL_SHARE = Definition(
    key="referral_share",
    name="Share of business from referrals",
    definition=(
        "First-year premium of closed deals whose client came by referral (channel `referral`),"
        " divided by all first-year premium; null when there is none."
    ),
    counted_in="the month of the closed deal",
    events=["client.created", "application.first_premium_paid"],
    source="manual 一.1 (a referral system)",
)


def definitions(time_zone: str) -> Definitions:
    return Definitions(
        effective_client=EFFECTIVE_CLIENT,
        closed_deal=CLOSED_DEAL,
        figures=[FIRST_YEAR_PREMIUM, *ACTIVITIES],
        funnel=FUNNEL,
        referral_share=REFERRAL_SHARE,
        time_zone=time_zone,
    )
