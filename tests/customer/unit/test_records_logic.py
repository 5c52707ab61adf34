"""Pure CRM logic: masking, derived figures, cursors, CSV parsing, audit diffs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_customer.csv_import import InvalidCsv, parse_customer_csv
from riskwatch_customer.domain.audit import created, diff
from riskwatch_customer.domain.figures import derive_figures, utilisation
from riskwatch_customer.domain.masking import mask_field, mask_tail

money = st.decimals(min_value=0, max_value=10**9, allow_nan=False, places=2)


@given(st.text(min_size=1, max_size=40))
def test_masking_never_shows_more_than_half(value: str) -> None:
    masked = mask_tail(value)
    shown = masked.removeprefix("****")
    assert len(shown) <= len(value) // 2
    assert value.endswith(shown)


def test_mask_fields() -> None:
    assert mask_field("document_number", "AB1234567") == "****4567"
    assert mask_field("email", "ada@example.com") == "a***@example.com"
    assert mask_field("address", "12 High Street") == "12***"
    assert mask_field("name", "Ada") == "Ada"
    assert mask_field("phone", None) is None


@given(
    money, st.dictionaries(st.text(max_size=5), money), st.dictionaries(st.text(max_size=5), money)
)
def test_net_worth_and_debt_to_income(
    income: Decimal, assets: dict[str, Decimal], liabilities: dict[str, Decimal]
) -> None:
    figures = derive_figures(annual_income=income, assets=assets, liabilities=liabilities)
    assert figures.net_worth == sum(assets.values(), Decimal(0)) - sum(
        liabilities.values(), Decimal(0)
    )
    if income > 0:
        assert figures.debt_to_income is not None
        assert abs(figures.debt_to_income - figures.total_liabilities / income) < Decimal("0.0001")
    else:
        assert figures.debt_to_income is None


def test_utilisation() -> None:
    assert utilisation(Decimal(250), Decimal(1000)) == Decimal("0.25")
    assert utilisation(Decimal(250), Decimal(0)) is None


def test_csv_rows_parsed_or_rejected_with_line_numbers() -> None:
    rows = parse_customer_csv(
        "kind,name,document_type,document_number,tags\n"
        "individual,Ada,passport,P1,a; b\n"
        "alien,Zed,passport,P2,\n",
        max_rows=10,
    )
    assert rows[0].customer is not None
    assert rows[0].customer.tags == ["a", "b"]
    assert rows[1].customer is None
    assert rows[1].line == 3
    assert rows[1].errors[0].loc == ("row", 3, "kind")
    with pytest.raises(InvalidCsv):
        parse_customer_csv("name\nAda\n", max_rows=10)
    with pytest.raises(InvalidCsv):
        parse_customer_csv(
            "kind,name,document_type,document_number\n" + "x,y,z,w\n" * 3, max_rows=2
        )


def test_audit_diff_masks_personal_fields_and_keeps_money_exact() -> None:
    changes = diff(
        {"phone": "+44 1111 2222", "segment": "retail", "limit": Decimal("1.10")},
        {"phone": "+44 1111 3333", "segment": "retail", "limit": Decimal("2.20")},
    )
    assert changes == {
        "phone": {"before": "****2222", "after": "****3333"},
        "limit": {"before": "1.10", "after": "2.20"},
    }
    assert created({"name": "Ada", "email": None}) == {"name": {"before": None, "after": "Ada"}}


names = st.text(
    alphabet=st.characters(whitelist_categories=("L", "N", "Zs"), max_codepoint=0x2FF),
    min_size=1,
    max_size=40,
).filter(lambda text: text.strip() == text and text.strip())


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["individual", "corporate"]),
            names,
            st.from_regex(r"[A-Z0-9]{3,12}", fullmatch=True),
            st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), max_size=3),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_csv_written_by_another_crm_parses_back(
    customers: list[tuple[str, str, str, list[str]]],
) -> None:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "name", "document_type", "document_number", "tags"])
    for kind, name, number, tags in customers:
        writer.writerow([kind, name, "passport", number, ";".join(tags)])
    rows = parse_customer_csv(out.getvalue(), max_rows=100)
    assert [row.line for row in rows] == list(range(2, len(customers) + 2))
    for row, (kind, name, number, tags) in zip(rows, customers, strict=True):
        assert row.customer is not None, row.errors
        assert (row.customer.kind, row.customer.name, row.customer.document_number) == (
            kind,
            name,
            number,
        )
        assert row.customer.tags == tags
