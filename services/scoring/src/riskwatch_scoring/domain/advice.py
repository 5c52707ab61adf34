"""Risk-control advice per reason code: what a relationship manager or analyst should do."""

from __future__ import annotations

from riskwatch_scoring.domain.assessment import Assessment, Reason, ReasonValue

ADVICE_BY_CODE: dict[str, str] = {
    # credit
    "high_debt_to_income": "review the credit limit and affordability",
    "high_utilisation": "review the credit limit; offer a repayment plan",
    "delinquent_30": "contact the customer about the late payments",
    "delinquent_60": "start early collections contact; freeze limit increases",
    "delinquent_90": "refer to collections; consider restructuring the debt",
    "missed_payments": "contact the customer and agree a repayment schedule",
    "prior_default": "require collateral or a guarantor for new credit",
    "low_bureau_score": "tighten credit terms; request updated income documents",
    "bureau_score_drop": "check the bureau report for new debts or defaults",
    "income_drop": "reassess affordability; request current income evidence",
    "liabilities_growth": "review new borrowing elsewhere before extending credit",
    "credit_hungry": "review the recent credit applications before approving more",
    # anomaly
    "amount_vs_average": "confirm the payment with the customer before release",
    "amount_zscore": "confirm the payment with the customer before release",
    "velocity_1h": "hold further payments and check for account takeover",
    "new_country": "verify the beneficiary and the purpose of the transfer",
    "high_risk_country": "apply enhanced due diligence; escalate to compliance",
    "new_device": "step up authentication on the new device",
    "new_counterparty": "verify the new payee (confirmation of payee)",
    "unusual_hour": "check the session for signs of account takeover",
    # churn
    "inactivity": "contact the customer with a retention offer",
    "activity_decline": "schedule a relationship-manager call",
    "value_decline": "review pricing and product fit with the customer",
    "balance_decline": "check whether funds are moving to another bank",
    "outflow_excess": "check whether funds are moving to another bank",
    "complaints": "resolve the open complaints; assign a case owner",
    "dormant_accounts": "offer to close or reactivate the dormant accounts",
}
DEFAULT_ADVICE = "review the customer's file"


def advice_of(reason: Reason) -> str:
    """What to do about the reason, on its own (the reason's sentence is its `message`)."""
    return ADVICE_BY_CODE.get(reason.code, DEFAULT_ADVICE)


def reason_params(reason: Reason) -> dict[str, ReasonValue]:
    """The reason's parameters by name: the value it read, when it read one."""
    return {} if reason.value is None else {"value": reason.value}


def advise(reason: Reason) -> str:
    """The reason and what to do about it: "debt-to-income 62%: review the credit limit..."."""
    return f"{reason.message}: {ADVICE_BY_CODE.get(reason.code, DEFAULT_ADVICE)}"


def advice_for(assessment: Assessment, *, limit: int = 3) -> list[str]:
    """Advice for the assessment's strongest reasons, strongest first."""
    return [advise(reason) for reason in assessment.reasons[:limit]]
