"""A seeded stand-in for the loan origination system (LOS) that feeds the ``loan_approval`` AI system.

It plays the *source*: one CSV per day dropped into the raw zone at the partition path of
``loan_applications_raw``. A file is dropped once; an existing file is never rewritten, as a real
source's export would not be. Each day is generated from ``(seed, date)`` alone, so a day's file is
byte-identical whatever ``end``/``days`` were asked for (as long as that day gets the same defects).

The data is made up from small built-in lists (nothing is downloaded) and is realistic enough for the
checks downstream to have something to find:

* the historical decision ``approved`` depends on credit score, debt-to-income, income and loan size,
  and *also* on sex, ethnicity and age (a real label skew): approval of the worst ethnicity is well
  under 0.8 of the best, of the worst sex about 0.85-0.9 of the best;
* ethnicity ``Other`` is ~3% of applicants and sex ``Non-binary`` ~2%, so that minimum-group-size
  suppression matters;
* a few applications per day are re-submitted (same ``application_id``, later ``application_ts``),
  so that de-duplication has work to do;
* categorical values come capitalised as on the application form (``Female``, ``Asian``).

Defects are injected on days relative to ``end`` (:func:`defect_plan`):

========  ===================  ==============================================================
day       defects              what the file looks like
========  ===================  ==============================================================
end       ``drift``            distribution shift: income ~35% lower, credit scores ~60 lower,
                               loan amounts ~30% higher; all values stay in valid ranges
end-1     ``nulls``,           ~8% of ``annual_income`` empty; ~3% of ``credit_score`` out of
          ``out_of_range``,    range (990 or 120) and ~1% negative ``loan_amount``;
          ``unseen_category``  ~5% ``loan_purpose`` = ``crypto``
end-2     (none)               clean
end-4     ``dropped_column``   ``employment_years`` absent from the file
end-5     (none)               clean
========  ===================  ==============================================================

All other days are clean.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from aimsflow.catalog import Inventory, load_inventory
from aimsflow.fsutil import atomic_write

RAW_DATASET = "loan_applications_raw"

DRIFT = "drift"
NULLS = "nulls"
OUT_OF_RANGE = "out_of_range"
UNSEEN_CATEGORY = "unseen_category"
DROPPED_COLUMN = "dropped_column"

COLUMNS = (
    "application_id",
    "applicant_name",
    "email",
    "date_of_birth",
    "postcode",
    "sex",
    "ethnicity",
    "annual_income",
    "loan_amount",
    "loan_term_months",
    "employment_years",
    "credit_score",
    "existing_debt",
    "loan_purpose",
    "application_ts",
    "approved",
)

_FIRST = (
    "Anna", "Lucas", "Sofia", "Noah", "Emma", "Liam", "Mila", "Daan", "Julia", "Sem", "Fatima", "Mohamed",
    "Aisha", "Omar", "Yusuf", "Priya", "Arjun", "Mei", "Wei", "Hana", "Kenji", "Amara", "Kwame", "Chloé",
    "José", "Zoë", "Björn", "Ines", "Mateo", "Olivia", "Leon", "Nina", "Ravi", "Sara", "Tomasz", "Elif",
    "Ahmet", "Grace", "Samuel", "Ngozi",
)  # fmt: skip
_LAST = (
    "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Müller", "Schmidt", "Rossi", "García",
    "Martin", "Dubois", "Nowak", "Kowalski", "Yılmaz", "Demir", "Khan", "Ahmed", "Patel", "Singh", "Chen",
    "Wang", "Nguyen", "Tanaka", "Kim", "Mensah", "Okafor", "Diallo", "Silva", "Santos", "O'Brien",
    "Murphy", "Andersen", "Larsen", "Novak", "Horvat", "Papadopoulos", "Cohen", "Haddad", "Ivanova",
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")

_SEXES = ("Female", "Male", "Non-binary")
_SEX_P = (0.49, 0.49, 0.02)
_ETHNICITIES = ("White", "Asian", "Black", "Mixed", "Other")
_ETHNICITY_P = (0.60, 0.18, 0.12, 0.07, 0.03)

# Historical bias of the credit officers' decisions (logit shift): the skew the fairness checks must find.
_SEX_BIAS = np.array([-0.4, 0.0, -0.4])
_ETHNICITY_BIAS = np.array([0.0, -0.3, -1.1, -0.4, -1.0])

_PURPOSES = ("home", "car", "education", "business", "personal", "debt_consolidation")
_PURPOSE_P = (0.12, 0.25, 0.08, 0.07, 0.28, 0.20)
_PURPOSE_MEDIAN_AMOUNT = np.array([30_000.0, 15_000.0, 10_000.0, 20_000.0, 6_000.0, 12_000.0])
_PURPOSE_TERMS = ((60, 84), (24, 36, 48, 60), (36, 48, 60), (24, 36, 60), (12, 24, 36), (36, 48, 60))

_MAX_LOAN = 50_000.0
_RESUBMIT_SHARE = 0.01


@dataclass(frozen=True)
class BatchInfo:
    """One day's source file: where it is, how many data rows it holds, which defects it carries.

    ``created`` is False when the file already existed and was left alone (its rows are counted, its
    defects are those the plan assigns to the day now, which may differ from when it was written).
    """

    date: date
    path: Path
    rows: int
    defects: tuple[str, ...]
    created: bool = True


def defect_plan(end: date) -> dict[date, list[str]]:
    """Days (relative to ``end``) that carry defects and which; every other day is clean."""
    return {
        end: [DRIFT],
        end - timedelta(days=1): [NULLS, OUT_OF_RANGE, UNSEEN_CATEGORY],
        end - timedelta(days=4): [DROPPED_COLUMN],
    }


def generate_source_batches(
    data_root: Path,
    end: date,
    days: int = 120,
    seed: int = 42,
    rows_per_day: int = 400,
    inventory: Inventory | None = None,
) -> list[BatchInfo]:
    """Drop one applications CSV per day in ``[end-days+1, end]`` unless the day's file already exists."""
    if days < 1 or rows_per_day < 1 or seed < 0:
        raise ValueError("days and rows_per_day must be >= 1 and seed >= 0")
    dataset = (inventory or load_inventory()).dataset(RAW_DATASET)
    unknown = sorted(set(dataset.columns) - set(COLUMNS))
    if unknown:
        raise ValueError(f"the catalog declares columns the demo source cannot produce: {unknown}")
    plan = defect_plan(end)
    batches = []
    for offset in range(days - 1, -1, -1):
        day = end - timedelta(days=offset)
        defects = tuple(plan.get(day, ()))
        path = dataset.partition_path(day, Path(data_root))
        if path.exists():
            with open(path, "rb") as fh:
                rows = max(sum(1 for _ in fh) - 1, 0)
            batches.append(BatchInfo(day, path, rows, defects, created=False))
            continue
        content = render_day(day, seed, rows_per_day, defects, list(dataset.columns))
        created = _write_once(path, content)
        batches.append(BatchInfo(day, path, content.count(b"\n") - 1, defects, created=created))
    return batches


def render_day(day: date, seed: int, rows: int, defects: tuple[str, ...], columns: list[str]) -> bytes:
    """The CSV bytes of one day: a pure function of its arguments."""
    records = _applications(day, seed, rows, drift=DRIFT in defects)
    _inject(records, day, seed, defects)
    if DROPPED_COLUMN in defects:
        columns = [c for c in columns if c != "employment_years"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([rec[c] for c in columns] for rec in records)
    return buf.getvalue().encode("utf-8")


def _rng(seed: int, day: date, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, day.toordinal(), stream]))


def _ascii(text: str) -> str:
    return (
        unicodedata.normalize("NFKD", text)
        .encode("ascii", "ignore")
        .decode()
        .replace(" ", "")
        .replace("'", "")
    )


def _birth_date(day: date, age: int, days_after_birthday: int) -> date:
    try:
        anniversary = day.replace(year=day.year - age)
    except ValueError:  # 29 February
        anniversary = date(day.year - age, 2, 28)
    return anniversary - timedelta(days=days_after_birthday)


def _decide(
    rng: np.random.Generator,
    income: np.ndarray,
    loan: np.ndarray,
    debt: np.ndarray,
    credit: np.ndarray,
    age: np.ndarray,
    sex: np.ndarray,
    ethnicity: np.ndarray,
) -> np.ndarray:
    """The credit officers' historical decision: creditworthiness plus a group bias."""
    dti = debt / income
    lti = loan / income
    logit = (
        0.6
        + 2.2 * (credit - 660.0) / 100.0
        - 4.0 * (dti - 0.2)
        + 0.6 * np.log(income / 40_000.0)
        - 1.2 * (lti - 0.35)
        + _SEX_BIAS[sex]
        + _ETHNICITY_BIAS[ethnicity]
        - 0.3 * (age < 25)
        - 0.5 * (age >= 65)
    )
    return rng.random(len(income)) < 1.0 / (1.0 + np.exp(-logit))


def _applications(day: date, seed: int, rows: int, drift: bool) -> list[dict[str, str]]:
    rng = _rng(seed, day, 0)
    n_resubmit = min(int(round(rows * _RESUBMIT_SHARE)), rows // 2) if rows > 1 else 0
    n = rows - n_resubmit

    seconds = np.sort(rng.integers(6 * 3600, 23 * 3600, n))
    age = np.clip(np.rint(rng.normal(42, 14, n)), 18, 80).astype(int)
    after_birthday = rng.integers(1, 361, n)
    sex = rng.choice(len(_SEXES), n, p=_SEX_P)
    ethnicity = rng.choice(len(_ETHNICITIES), n, p=_ETHNICITY_P)
    base_income = 28_000.0 + 700.0 * (np.minimum(age, 55) - 18)
    base_income = np.where(age >= 65, 0.7 * base_income, base_income)
    income = np.clip(base_income * np.exp(rng.normal(0, 0.45, n)), 9_000, 400_000)
    employment = np.minimum(rng.gamma(2.0, 3.5, n), age - 16)
    credit_noise = rng.normal(0, 65, n)
    purpose = rng.choice(len(_PURPOSES), n, p=_PURPOSE_P)
    amount = _PURPOSE_MEDIAN_AMOUNT[purpose] * np.exp(rng.normal(0, 0.5, n))
    term = np.array([rng.choice(_PURPOSE_TERMS[p]) for p in purpose])
    debt_share = np.where(rng.random(n) < 0.25, 0.0, rng.beta(2, 6, n) * 0.8)
    first = rng.integers(0, len(_FIRST), n)
    last = rng.integers(0, len(_LAST), n)
    email_no = rng.integers(1, 1000, n)
    domain = rng.integers(0, len(_DOMAINS), n)
    postcode_no = rng.integers(1000, 10_000, n)
    postcode_letters = rng.integers(0, 26, (n, 2))

    credit = 620 + 1.2 * (np.minimum(age, 60) - 18) + 40 * np.log(income / 40_000) + credit_noise
    if drift:  # the applicant population shifts; the officers' policy does not
        income = income * 0.65
        credit = credit - 60
        amount = amount * 1.3
    income = np.maximum(np.round(income, -2), 5_000.0)
    amount = np.clip(np.round(amount, -2), 500.0, _MAX_LOAN)
    debt = np.round(income * debt_share, -1)
    credit = np.clip(np.rint(credit), 300, 850).astype(int)
    approved = _decide(rng, income, amount, debt, credit, age, sex, ethnicity)

    stamp = day.strftime("%Y%m%d")
    midnight = datetime.combine(day, time())
    records = []
    for i in range(n):
        name = f"{_FIRST[first[i]]} {_LAST[last[i]]}"
        letters = "".join(chr(65 + k) for k in postcode_letters[i])
        records.append(
            {
                "application_id": f"LA-{stamp}-{i + 1:05d}",
                "applicant_name": name,
                "email": f"{_ascii(_FIRST[first[i]])}.{_ascii(_LAST[last[i]])}{email_no[i]}@{_DOMAINS[domain[i]]}".lower(),
                "date_of_birth": _birth_date(day, int(age[i]), int(after_birthday[i])).isoformat(),
                "postcode": f"{postcode_no[i]} {letters}",
                "sex": _SEXES[sex[i]],
                "ethnicity": _ETHNICITIES[ethnicity[i]],
                "annual_income": f"{income[i]:.2f}",
                "loan_amount": f"{amount[i]:.2f}",
                "loan_term_months": str(int(term[i])),
                "employment_years": f"{employment[i]:.1f}",
                "credit_score": str(int(credit[i])),
                "existing_debt": f"{debt[i]:.2f}",
                "loan_purpose": _PURPOSES[purpose[i]],
                "application_ts": (midnight + timedelta(seconds=int(seconds[i]))).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "approved": "true" if approved[i] else "false",
            }
        )

    # Re-submissions: the same application sent again later that day with a smaller amount, decided anew.
    if n_resubmit:
        early = np.flatnonzero(seconds < 21 * 3600)
        picks = np.sort(
            rng.choice(early if len(early) >= n_resubmit else np.arange(n), n_resubmit, replace=False)
        )
        new_amount = np.maximum(np.round(amount[picks] * 0.8, -2), 500.0)
        redo = _decide(
            rng,
            income[picks],
            new_amount,
            debt[picks],
            credit[picks],
            age[picks],
            sex[picks],
            ethnicity[picks],
        )
        delays = rng.integers(600, 7200, n_resubmit)
        for k, i in enumerate(picks):
            ts = min(int(seconds[i] + delays[k]), 24 * 3600 - 1)
            records.append(
                records[i]
                | {
                    "loan_amount": f"{new_amount[k]:.2f}",
                    "application_ts": (midnight + timedelta(seconds=ts)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "approved": "true" if redo[k] else "false",
                }
            )
        records.sort(key=lambda r: r["application_ts"])  # stable: the export is in time order
    return records


def _inject(records: list[dict[str, str]], day: date, seed: int, defects: tuple[str, ...]) -> None:
    """Corrupt a day's records in place, from a random stream separate from the data's own."""
    rng = _rng(seed, day, 1)
    n = len(records)
    if NULLS in defects:
        for i in np.flatnonzero(rng.random(n) < 0.08):
            records[i]["annual_income"] = ""
    if OUT_OF_RANGE in defects:
        for i in np.flatnonzero(rng.random(n) < 0.03):
            records[i]["credit_score"] = str(rng.choice([990, 120]))
        for i in np.flatnonzero(rng.random(n) < 0.01):
            records[i]["loan_amount"] = f"{-float(records[i]['loan_amount']):.2f}"
    if UNSEEN_CATEGORY in defects:
        for i in np.flatnonzero(rng.random(n) < 0.05):
            records[i]["loan_purpose"] = "crypto"


def _write_once(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` unless it exists (atomically: the source never rewrites a batch)."""
    return atomic_write(path, content, overwrite=False)
