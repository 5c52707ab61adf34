"""Who banks with the synthetic bank: customers, their accounts and their first records (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from random import Random

from riskwatch_simulator.bank import Account, CreditRecord, Customer, CustomerKind, FinancialProfile
from riskwatch_simulator.history import Counterparty, CustomerHistory, money


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    currency: str
    phone_prefix: str
    ip_prefixes: tuple[str, ...]
    weight: float


# Loopback-free, routable-looking prefixes; none of them is a real bank's range. Phone
# prefixes leave 4 digits to a valid number of the country's plan (checked with phonenumbers).
COUNTRIES: tuple[Country, ...] = (
    Country("GB", "GBP", "+44 20 7946", ("81.2.69", "86.12.40"), 0.30),
    Country("DE", "EUR", "+49 30 9018", ("91.64.11", "84.130.2"), 0.18),
    Country("FR", "EUR", "+33 1 7098", ("90.84.16", "82.64.7"), 0.14),
    Country("NL", "EUR", "+31 20 790", ("77.160.3", "145.53.1"), 0.08),
    Country("ES", "EUR", "+34 91 308", ("83.44.9", "88.12.65"), 0.08),
    Country("IE", "EUR", "+353 1 4401", ("86.40.2", "109.76.5"), 0.06),
    Country("US", "USD", "+1 202 555", ("73.15.22", "98.207.4"), 0.10),
    Country("CH", "CHF", "+41 44 668", ("85.1.33", "178.197.2"), 0.06),
)
COUNTRY_BY_CODE = {country.code: country for country in COUNTRIES}
# Where takeovers, mules and fraud send money from or to: never a customer's home.
FOREIGN_COUNTRIES: tuple[Country, ...] = (
    Country("RO", "RON", "+40 21 300", ("5.12.44", "86.120.9"), 0.0),
    Country("NG", "NGN", "+234 803 123", ("105.112.3", "197.210.5"), 0.0),
    Country("VN", "VND", "+84 24 3800", ("113.160.2", "14.160.8"), 0.0),
    Country("BR", "BRL", "+55 11 3000", ("177.32.6", "189.6.40"), 0.0),
    Country("TH", "THB", "+66 2 100", ("49.228.1", "110.168.3"), 0.0),
)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Mia", "Lucas", "Sofia", "Elias", "Hannah", "Leon",
    "Chloe", "Hugo", "Lea", "Mateo", "Ava", "Finn", "Isla", "Jonas", "Nora", "Arthur",
    "Clara", "Louis", "Grace", "Jan", "Ines", "Theo", "Freya", "Paul", "Zoe", "Oscar",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Müller", "Martin", "de Vries", "García", "Murphy", "Johnson", "Meier", "Bernard",
    "Jansen", "López", "Kelly", "Brown", "Schmidt", "Dubois", "Bakker", "Sánchez", "Walsh",
    "Taylor", "Fischer", "Moreau", "Visser", "Romero", "Byrne", "Wilson", "Weber", "Laurent",
)  # fmt: skip
COMPANY_WORDS = (
    "Northwind", "Bluefield", "Harbour", "Granite", "Silverline", "Oakridge", "Meridian",
    "Lumen", "Atlas", "Kestrel", "Redwood", "Beacon", "Summit", "Cobalt", "Juniper",
)  # fmt: skip
COMPANY_KINDS = ("Logistics", "Foods", "Engineering", "Textiles", "Software", "Retail", "Pharma")
COMPANY_SUFFIX = {"GB": "Ltd", "IE": "Ltd", "US": "Inc", "DE": "GmbH", "CH": "AG", "NL": "BV"}
RELATIONSHIP_MANAGERS = ("rm-ana", "rm-ben", "rm-chen", "rm-dora", "rm-emil", "rm-farah")
MERCHANTS = (
    ("5411", "grocery"), ("5812", "restaurant"), ("5541", "fuel"), ("5912", "pharmacy"),
    ("5311", "department store"), ("4111", "transit"), ("5814", "fast food"),
    ("5999", "misc retail"), ("4899", "streaming"), ("5691", "clothing"),
)  # fmt: skip
CENT0 = Decimal("0.00")
BANK_CODES = ("RWBK", "NWBK", "DEUT", "BNPA", "INGB", "BOFI", "CHAS", "UBSW", "CAIX")


def pick_country(rng: Random) -> Country:
    return rng.choices(COUNTRIES, weights=[country.weight for country in COUNTRIES])[0]


def account_number(rng: Random, country: str, bank: str = "RWBK") -> str:
    return f"{country}{rng.randint(10, 99)}{bank}{rng.randint(10**13, 10**14 - 1)}"


def counterparty(rng: Random, country: Country, *, name: str | None = None) -> Counterparty:
    bank = rng.choice(BANK_CODES)
    who = name or (
        f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if rng.random() < 0.5
        else f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
    )
    return Counterparty(who, account_number(rng, country.code, bank), f"{bank}XXX", country.code)


def device_id(rng: Random) -> str:
    return f"dev-{rng.getrandbits(48):012x}"


def new_customer(
    rng: Random, *, seed: int, index: int, kind: CustomerKind, start: datetime
) -> Customer:
    """A customer with the identity, contact details and habits everything else builds on."""
    country = pick_country(rng)
    if kind == "individual":
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        segment = rng.choices(("retail", "premium", "private"), weights=(0.8, 0.17, 0.03))[0]
        email_local = f"{first}.{last}".lower().replace(" ", "")
        document = f"passport:{country.code}{seed}{index:07d}{rng.randint(10, 99)}"
    else:
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
        name = f"{name} {COMPANY_SUFFIX.get(country.code, 'SA')}"
        segment = rng.choices(("sme", "corporate"), weights=(0.8, 0.2))[0]
        email_local = "finance"
        document = f"company_registration:{country.code}{seed}{index:07d}{rng.randint(10, 99)}"
    email_domain = "example.com" if kind == "individual" else f"{name.split()[0].lower()}.example"
    devices = tuple(device_id(rng) for _ in range(rng.randint(1, 2)))
    return Customer(
        # Unique per seed, so two simulated banks can share one RiskWatch.
        external_id=f"S{seed}C{index:07d}",
        kind=kind,
        name=name,
        document=document,
        phone=f"{country.phone_prefix} {rng.randint(1000, 9999)}",
        email=f"{email_local}.{index}@{email_domain}".encode("ascii", "ignore").decode(),
        country=country.code,
        segment=segment,
        relationship_manager=rng.choice(RELATIONSHIP_MANAGERS),
        home_currency=country.currency,
        onboarded_on=(start - timedelta(days=rng.randint(30, 3650))).date(),
        usual_devices=devices,
        usual_countries=(country.code,),
        usual_ip_prefix=rng.choice(country.ip_prefixes),
    )


def open_accounts(history: CustomerHistory) -> None:
    customer, rng = history.customer, history.rng
    if customer.kind == "individual":
        types = ["current"] + (["savings"] if rng.random() < 0.45 else [])
        types += ["credit_card"] if rng.random() < 0.35 else []
    else:
        types = ["current"] * rng.randint(1, 2) + (["loan"] if rng.random() < 0.3 else [])
    for number, account_type in enumerate(types):
        history.accounts.append(
            Account(
                external_id=f"{customer.external_id}-A{number}",
                customer_external_id=customer.external_id,
                number=account_number(rng, customer.country),
                type=account_type,
                currency=customer.home_currency,
                opened_on=customer.onboarded_on + timedelta(days=number * rng.randint(0, 400)),
            )
        )


def first_financial_profile(history: CustomerHistory, *, as_of: date) -> FinancialProfile:
    """Income around a log-normal median (40k a person, 2.5M a company's revenue)."""
    customer, rng = history.customer, history.rng
    median = 40_000 if customer.kind == "individual" else 2_500_000
    income = money(median * rng.lognormvariate(0, 0.45))
    history.annual_income = income
    profile = FinancialProfile(
        external_id=history.next_id("F"),
        customer_external_id=customer.external_id,
        annual_income=income,
        currency=customer.home_currency,
        assets={
            "deposits": money(float(income) * rng.uniform(0.1, 1.2)),
            "property": money(float(income) * rng.uniform(0, 4)) if rng.random() < 0.5 else CENT0,
        },
        liabilities={
            "mortgage": money(float(income) * rng.uniform(0.1, 0.6))
            if rng.random() < 0.3
            else CENT0,
            "loans": money(float(income) * rng.uniform(0, 0.12)),
        },
        as_of=as_of,
    )
    history.financial_profiles.append(profile)
    return profile


def credit_record(
    history: CustomerHistory,
    *,
    as_of: date,
    score: int,
    debt: Decimal,
    limit: Decimal,
    missed_payments: int = 0,
    delinquencies: tuple[int, int, int] = (0, 0, 0),
    defaults: int = 0,
    inquiries: int = 0,
) -> CreditRecord:
    record = CreditRecord(
        external_id=history.next_id("R"),
        customer_external_id=history.customer.external_id,
        source="bureau",
        credit_score=max(0, min(1000, score)),
        delinquencies_30=delinquencies[0],
        delinquencies_60=delinquencies[1],
        delinquencies_90=delinquencies[2],
        missed_payments=missed_payments,
        outstanding_debt=debt,
        credit_limit=limit,
        defaults=defaults,
        recent_inquiries=inquiries,
        currency=history.customer.home_currency,
        as_of=as_of,
    )
    history.credit_records.append(record)
    return record


# The harder bank: a healthy borrower's bureau pull shows one missed payment this often (a
# direct debit bounced, cured within the month).
MISSED_ONCE_SHARE = 0.01


def healthy_credit_records(
    history: CustomerHistory, *, start: date, end: date, noisy: bool = False
) -> None:
    """A bureau pull every quarter: a steady score, modest use of a limit tied to income."""
    rng = history.rng
    score = int(rng.gauss(720, 45))
    limit = money(float(history.annual_income) * rng.uniform(0.15, 0.4))
    utilisation = rng.uniform(0.05, 0.4)
    day = start
    while day <= end:
        utilisation = min(0.6, max(0.0, utilisation + rng.gauss(0, 0.04)))
        credit_record(
            history,
            as_of=day,
            score=score + int(rng.gauss(0, 8)),
            debt=money(float(limit) * utilisation),
            limit=limit,
            inquiries=rng.choice((0, 0, 0, 1)),
            missed_payments=int(noisy and rng.random() < MISSED_ONCE_SHARE),
        )
        day += timedelta(days=91)
