"""Notifications on a new high risk or a new nonconformity.

:class:`RiskNotifier` is an Airflow notifier set as the reassessment task's success and failure
callback. It reads the record this task try wrote (the notice is part of the signed summary, so what
was announced is evidence too) and, when something is new: always logs it; sends an e-mail through
the SMTP provider when the connection ``aimsflow_smtp`` exists (recipients: the connection's extra
``to`` plus the owners of the new high risks); posts to a Slack incoming webhook when the connection
``aimsflow_slack`` exists (webhook URL as its password, or host). A failing channel is logged and
does not stop the others.
"""

from __future__ import annotations

import html
import json
import logging
import re
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import BaseNotifier

from aimsflow.risk.evidence import REASSESS_CHECK

log = logging.getLogger(__name__)

SMTP_CONN_ID = "aimsflow_smtp"
SLACK_CONN_ID = "aimsflow_slack"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    owners: tuple[str, ...]


def notice_from_summary(
    summary: Mapping[str, Any], record_key: str, period: str, status: str
) -> Notice | None:
    """The notice for a reassessment record, or None when it announces nothing new."""
    notify = summary.get("notify") or {}
    risks, ncs = notify.get("new_high_risks") or [], notify.get("new_nonconformities") or []
    if not risks and not ncs:
        return None
    parts = []
    if risks:
        parts.append(f"{len(risks)} new high risk(s)")
    if ncs:
        parts.append(f"{len(ncs)} new nonconformit{'y' if len(ncs) == 1 else 'ies'}")
    subject = f"[aimsflow] risk reassessment {period} ({status}): {', '.join(parts)}"
    lines = [subject, ""]
    for r in risks:
        lines.append(
            f"New {r['level']} risk {r['id']} (score {r['score']}, owner {r['owner']}): {r['title']}"
        )
        lines.extend(f"  - {why}" for why in r.get("reasons", []))
    for nc in ncs:
        cause = nc["cause"]
        where = f" [{cause['dataset']}]" if cause.get("dataset") else ""
        lines.append(
            f"New nonconformity {nc['id']}: {cause['check']}{where}, {nc['occurrences']} occurrence(s), "
            f"first record {nc['first_record']}"
        )
    lines += [
        "",
        f"Evidence: {record_key}",
        "Close a nonconformity: aimsflow nc close <id> (after a passing run).",
    ]
    owners = tuple(sorted({r["owner"] for r in risks if _EMAIL.match(str(r.get("owner", "")))}))
    return Notice(subject, "\n".join(lines), owners)


def _recipients(extra: Mapping[str, Any], owners: tuple[str, ...]) -> list[str]:
    to = extra.get("to") or []
    if isinstance(to, str):
        to = [t.strip() for t in to.split(",") if t.strip()]
    return sorted({*to, *owners})


def send_email(
    notice: Notice, conn_id: str, extra: Mapping[str, Any], hook_factory: Callable[[str], Any]
) -> list[str]:
    """Send through the SMTP provider's hook; returns the recipients (none: nothing sent)."""
    to = _recipients(extra, notice.owners)
    if not to:
        log.warning("connection %s has no 'to' in its extra and no risk owner has an e-mail address", conn_id)
        return []
    body = f"<pre>{html.escape(notice.text)}</pre>"
    with hook_factory(conn_id) as hook:
        hook.send_email_smtp(
            to=to, subject=notice.subject, html_content=body, from_email=extra.get("from_email")
        )
    return to


def send_slack(notice: Notice, webhook_url: str, opener: Callable[..., Any] = urllib.request.urlopen) -> int:
    """POST the notice to a Slack incoming webhook; returns the HTTP status."""
    request = urllib.request.Request(
        webhook_url,
        data=json.dumps({"text": notice.text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with opener(request, timeout=10) as response:
        return int(getattr(response, "status", 200))


def _airflow_connection(conn_id: str) -> Any | None:
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # AirflowNotFoundException, or no connection backend reachable
        return None


def _smtp_hook(conn_id: str) -> Any:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    return SmtpHook(smtp_conn_id=conn_id)


def deliver(
    notice: Notice,
    *,
    get_connection: Callable[[str], Any | None] = _airflow_connection,
    hook_factory: Callable[[str], Any] = _smtp_hook,
    opener: Callable[..., Any] = urllib.request.urlopen,
    smtp_conn_id: str = SMTP_CONN_ID,
    slack_conn_id: str = SLACK_CONN_ID,
) -> list[str]:
    """Log the notice, then send it through every configured channel; returns the channels used."""
    log.warning("%s", notice.text)
    used = ["log"]
    smtp = get_connection(smtp_conn_id)
    if smtp is not None:
        try:
            if send_email(notice, smtp_conn_id, getattr(smtp, "extra_dejson", {}) or {}, hook_factory):
                used.append("smtp")
        except Exception as exc:
            log.error("risk notification by e-mail (%s) failed: %s", smtp_conn_id, exc)
    slack = get_connection(slack_conn_id)
    if slack is not None:
        url = getattr(slack, "password", None) or getattr(slack, "host", None)
        try:
            if not url:
                raise ValueError("the connection holds no webhook URL (password or host)")
            send_slack(notice, url, opener)
            used.append("slack")
        except Exception as exc:
            log.error("risk notification to Slack (%s) failed: %s", slack_conn_id, exc)
    return used


def record_of_try(records: list[Any], dag_id: str, run_id: str, task_id: str, try_number: int) -> Any | None:
    """The reassessment record one task try wrote, from record summaries."""
    for rec in records:
        p = rec.producer
        if (
            rec.check == REASSESS_CHECK
            and p.get("dag_id") == dag_id
            and p.get("run_id") == run_id
            and p.get("task_id") == task_id
            and p.get("try_number") == try_number
        ):
            return rec
    return None


class RiskNotifier(BaseNotifier):
    """Task callback: announce what this try's reassessment record found new (see the module doc)."""

    def __init__(
        self,
        smtp_conn_id: str = SMTP_CONN_ID,
        slack_conn_id: str = SLACK_CONN_ID,
        *,
        get_connection: Callable[[str], Any | None] | None = None,
        hook_factory: Callable[[str], Any] | None = None,
        opener: Callable[..., Any] | None = None,
    ):
        super().__init__()
        self.smtp_conn_id = smtp_conn_id
        self.slack_conn_id = slack_conn_id
        self._get_connection = get_connection or _airflow_connection
        self._hook_factory = hook_factory or _smtp_hook
        self._opener = opener or urllib.request.urlopen
        self.sent: list[str] = []

    def notify(self, context: Any) -> None:
        from aimsflow import settings
        from aimsflow.evidence.keys import TrustedKeys
        from aimsflow.evidence.listing import load_verified
        from aimsflow.evidence.storage import LocalStorage

        ti = context["ti"]
        # Only a record whose signature verifies is announced: a forged one of this try is not.
        records = load_verified(LocalStorage(settings.evidence_root()), TrustedKeys.load()).records
        record = record_of_try(records, ti.dag_id, ti.run_id, ti.task_id, ti.try_number)
        if record is None:
            log.info("no reassessment record for %s try %s: nothing to announce", ti.run_id, ti.try_number)
            return
        notice = notice_from_summary(record.summary, record.key, record.period.label, str(record.status))
        if notice is None:
            return
        self.sent = deliver(
            notice,
            get_connection=self._get_connection,
            hook_factory=self._hook_factory,
            opener=self._opener,
            smtp_conn_id=self.smtp_conn_id,
            slack_conn_id=self.slack_conn_id,
        )
