"""The demo's documented information: four short Markdown documents with their sidecars, dropped in
the manual evidence inbox the way compliance staff would (docs/manual-evidence.md).

=====================================  ===========================  ==================================
document                               controls                     what the demo shows
=====================================  ===========================  ==================================
``ai-policy.md``                       A.2.2, A.2.3                 an AIMS-wide policy, open-ended
``ai-roles-and-responsibilities.md``   A.3.2                        validity as a period label (a year)
``loan-approval-impact-assessment.md`` A.5.2, A.5.3, A.5.4, A.5.5   about one AI system (loan_approval)
``credit-bureau-data-agreement.md``    A.10.3                       review date passed: a ``warning``,
                                                                    A.10.3 stale
=====================================  ===========================  ==================================

Dates are relative to ``end`` (the demo's last day). Like the source system's batches, a document is
dropped once: one already in the inbox, or already ingested (in ``.ingested/``), is left alone, so
running the demo again drops nothing twice. The sidecar is written after its document, as staff are
asked to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from aimsflow.fsutil import atomic_write
from aimsflow.manual.inbox import INGESTED
from aimsflow.manual.sidecar import sidecar_name


@dataclass(frozen=True)
class DemoDocument:
    name: str
    text: str
    sidecar: str


@dataclass(frozen=True)
class Dropped:
    name: str
    path: Path
    created: bool


def _d(end: dt.date, days: int) -> str:
    return (end + dt.timedelta(days=days)).isoformat()


def demo_documents(end: dt.date) -> list[DemoDocument]:
    """The four demo documents as of ``end``."""
    policy = DemoDocument(
        "ai-policy.md",
        f"""# AI policy (version 2.0)

Approved by the management board on {_d(end, -310)}; in force from {_d(end, -300)}.

## Purpose
This policy sets the direction for the development, provision and use of AI systems by the bank,
within the AI management system (AIMS) certified against ISO/IEC 42001.

## Commitments
1. AI systems are developed and used only for the purposes recorded in the AI system inventory.
2. Every AI system that influences decisions about customers has an impact assessment before
   deployment and after every material change.
3. Data used to train AI systems is acquired lawfully, its provenance is recorded, and its quality
   is checked before use.
4. Decisions about loan applications remain with a credit officer; the model recommends.
5. Nonconformities are recorded, their causes analysed and corrective actions tracked to closure.

## Alignment with other policies
This policy applies together with the information security policy (ISO/IEC 27001), the data
protection policy and the model risk management standard; where they overlap, the stricter rule applies.

## Review
The AIMS manager reviews this policy at least once a year and after any significant change.
""",
        f"""title: AI policy
owner: aims-manager@example.com
controls: [A.2.2, A.2.3]
valid_from: {_d(end, -300)}
review_date: {_d(end, 65)}
version: "2.0"
""",
    )
    roles = DemoDocument(
        "ai-roles-and-responsibilities.md",
        f"""# AI roles and responsibilities ({end.year})

| role | mailbox | responsible for |
|---|---|---|
| AIMS manager | aims-manager@example.com | the AIMS, this document, the AI policy, internal audits |
| AI system owner (loan approval) | head-of-credit-risk@example.com | risk acceptance, impact assessment, fairness thresholds |
| Data owner (loan applications) | lending-platform-team@example.com | acquisition, quality suites, retention of the datasets |
| Model developers | credit-risk-data-science@example.com | training, validation, technical documentation |
| Data protection officer | data-protection-officer@example.com | legal basis, personal data in datasets and evidence |
| Information security | ciso@example.com | signing keys, the evidence store, supplier security |

Concerns about an AI system are reported to the AIMS manager or anonymously through the
whistle-blowing channel; the AIMS manager records each one and answers within 10 working days.
""",
        f"""title: AI roles and responsibilities
owner: aims-manager@example.com
controls: [A.3.2]
period: {end.year}
review_date: {_d(end, 165)}
""",
    )
    impact = DemoDocument(
        "loan-approval-impact-assessment.md",
        f"""# AI system impact assessment: consumer loan approval model

Assessment date {_d(end, -125)}; approved by the AI system owner on {_d(end, -120)}.

## Process (A.5.2)
Carried out under the impact assessment procedure by the AI system owner, the data protection
officer and a representative of the credit officers; repeated after every retraining that changes
the features or the population.

## Individuals and groups (A.5.4)
Applicants may be declined, or offered less credit, on the model's recommendation. The assessment
reviewed approval rates by sex, ethnicity and age band on the training data: the historical
decisions show a label skew against some groups. Mitigations: the fairness policy's thresholds
(four-fifths rule), a daily bias assessment, and the credit officer's final decision with reasons.

## Society (A.5.5)
Systematic under-lending to groups already under-served by credit would widen financial exclusion.
The bank reports approval rates by group to its conduct committee quarterly.

## Documentation (A.5.3)
This document, the bias assessment records and the risk register entries R-FAIR-01 and R-DQ-01
are kept as evidence in the AIMS evidence store for the retention period of the AI system.
""",
        f"""title: AI system impact assessment - loan approval
owner: head-of-credit-risk@example.com
controls: [A.5.2, A.5.3, A.5.4, A.5.5]
valid_from: {_d(end, -120)}
valid_to: {_d(end, 245)}
review_date: {_d(end, 120)}
ai_system: loan_approval
version: "1.1"
""",
    )
    supplier = DemoDocument(
        "credit-bureau-data-agreement.md",
        f"""# Data supply agreement: credit bureau scores (summary)

Signed {_d(end, -400)} between the bank and the credit bureau for the supply of credit scores used
by the loan approval model.

* The bureau documents how scores are computed and notifies the bank of changes 60 days ahead.
* Scores are supplied for the purpose of credit decisions only; no onward use.
* The bureau's own AI use in producing scores is covered by its ISO/IEC 42001 certificate, which it
  renews and sends to the bank every year.
* Service levels, incident notification within 24 hours, audit rights of the bank.

Annual supplier review due {_d(end, -14)}.
""",
        f"""title: Credit bureau data supply agreement
owner: procurement@example.com
controls: [A.10.3]
valid_from: {_d(end, -400)}
valid_to: {_d(end, 330)}
review_date: {_d(end, -14)}
ai_system: loan_approval
""",
    )
    return [policy, roles, impact, supplier]


def _dropped_before(inbox: Path, name: str) -> bool:
    return (inbox / name).exists() or any((inbox / INGESTED).glob(f"*/{name}"))


def drop_demo_documents(inbox: Path, end: dt.date) -> list[Dropped]:
    """Drop each demo document with its sidecar in ``inbox`` unless it was dropped before."""
    inbox = Path(inbox)
    out = []
    for doc in demo_documents(end):
        if _dropped_before(inbox, doc.name):
            out.append(Dropped(doc.name, inbox / doc.name, created=False))
            continue
        atomic_write(inbox / doc.name, doc.text.encode())
        atomic_write(inbox / sidecar_name(doc.name), doc.sidecar.encode())
        out.append(Dropped(doc.name, inbox / doc.name, created=True))
    return out
