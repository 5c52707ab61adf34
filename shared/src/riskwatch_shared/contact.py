"""Contact details every service checks the same way: phone numbers and e-mail addresses. Pure.

Phone numbers are parsed with `phonenumbers` (Google's libphonenumber metadata) and stored in
E.164 (`+442079460958`), so `+44 20 7946 0958`, `+44 (0)20 7946-0958` and `0044 20 7946 0958`
are one number and `(((((` is none. E-mail addresses are checked with `email-validator`
(syntax only, no DNS: validation must not depend on the network; the reserved `.test` domain is
accepted for test set-ups) and stored normalised (the domain lower-cased and IDNA-checked).
"""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

from riskwatch_shared.text import check_single_line

E164_EXAMPLE = "+442079460958"


def normalise_phone(value: str) -> str:
    """`value` in E.164; ValueError unless it is a valid number in international form."""
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            f"not a phone number in international form (e.g. {E164_EXAMPLE}): {exc}"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number (e.g. {E164_EXAMPLE})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_or_none(value: str) -> str | None:
    """`value` in E.164, or None when it is not a valid phone number (for search filters)."""
    try:
        return normalise_phone(value)
    except ValueError:
        return None


def normalise_email(value: str) -> str:
    """`value` normalised; ValueError unless it is a deliverable-looking address (no DNS)."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from exc
    return checked.normalized


PhoneNumber = Annotated[
    str,
    AfterValidator(check_single_line),
    AfterValidator(normalise_phone),
    Field(
        max_length=40,
        description="International form, normalised to E.164",
        examples=[E164_EXAMPLE],
    ),
]
"""A phone number in international form, stored in E.164."""

EmailAddress = Annotated[
    str,
    AfterValidator(check_single_line),
    AfterValidator(normalise_email),
    Field(max_length=320, examples=["risk@bank.example"]),
]
"""An e-mail address, checked and normalised (no DNS look-up)."""
