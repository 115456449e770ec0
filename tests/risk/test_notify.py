"""The notifier: nothing new, nothing announced; always logged; SMTP and Slack only when their
connection exists, through fakes here (nothing is ever sent by the tests)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from types import SimpleNamespace

import pytest

from aimsflow.results import Status
from aimsflow.risk.notify import Notice, RiskNotifier, deliver, notice_from_summary

NEW = {
    "notify": {
        "new_high_risks": [
            {
                "id": "R-DQ-01",
                "title": "Defective data",
                "score": 16,
                "level": "high",
                "owner": "dq-owner@example.com",
                "reasons": ["likelihood 2 -> 4"],
            },
            {
                "id": "R-X-01",
                "title": "Other",
                "score": 20,
                "level": "critical",
                "owner": "Risk Committee",
                "reasons": [],
            },
        ],
        "new_nonconformities": [
            {
                "id": "NC-20261128-0a70c3",
                "cause": {"check": "data_quality/validate", "ai_system": "a", "dataset": "x"},
                "occurrences": 2,
                "first_record": "records/2026-11-26/data_quality/validate/validate.0.try1-aaa",
            },
        ],
    }
}


class FakeHook:
    def __init__(self, sent: list, fail: bool = False):
        self.sent, self.fail = sent, fail

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_email_smtp(self, **kwargs):
        if self.fail:
            raise ConnectionRefusedError("smtp down")
        self.sent.append(kwargs)


class FakeResponse:
    status = 200

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def connections(**conns):
    return lambda conn_id: conns.get(conn_id)


def test_nothing_new_announces_nothing():
    assert (
        notice_from_summary(
            {"notify": {"new_high_risks": [], "new_nonconformities": []}}, "k", "2026-11", "passed"
        )
        is None
    )
    assert notice_from_summary({}, "k", "2026-11", "passed") is None


def test_notice_names_risks_nonconformities_and_the_record():
    notice = notice_from_summary(NEW, "records/2026-11/risk_reassessment/reassess/r", "2026-11", "failed")
    assert (
        notice.subject
        == "[aimsflow] risk reassessment 2026-11 (failed): 2 new high risk(s), 1 new nonconformity"
    )
    assert "New high risk R-DQ-01 (score 16, owner dq-owner@example.com): Defective data" in notice.text
    assert "  - likelihood 2 -> 4" in notice.text
    assert "New nonconformity NC-20261128-0a70c3: data_quality/validate [x], 2 occurrence(s)" in notice.text
    assert "Evidence: records/2026-11/risk_reassessment/reassess/r" in notice.text
    assert notice.owners == ("dq-owner@example.com",)  # only owners that are e-mail addresses


def test_logged_by_default(caplog):
    notice = Notice("subject", "text of the notice", ())
    with caplog.at_level(logging.WARNING, logger="aimsflow.risk.notify"):
        assert deliver(notice, get_connection=connections()) == ["log"]
    assert "text of the notice" in caplog.text


def test_smtp_when_its_connection_exists():
    sent: list = []
    smtp = SimpleNamespace(
        extra_dejson={"to": "aims@example.com, risk@example.com", "from_email": "aimsflow@example.com"}
    )
    notice = notice_from_summary(NEW, "k", "2026-11", "failed")
    used = deliver(
        notice, get_connection=connections(aimsflow_smtp=smtp), hook_factory=lambda conn: FakeHook(sent)
    )
    assert used == ["log", "smtp"]
    (mail,) = sent
    assert mail["to"] == ["aims@example.com", "dq-owner@example.com", "risk@example.com"]
    assert mail["subject"] == notice.subject and mail["from_email"] == "aimsflow@example.com"
    assert "R-DQ-01" in mail["html_content"] and mail["html_content"].startswith("<pre>")


def test_smtp_without_recipients_sends_nothing(caplog):
    sent: list = []
    smtp = SimpleNamespace(extra_dejson={})
    with caplog.at_level(logging.WARNING):
        used = deliver(
            Notice("s", "t", ()),
            get_connection=connections(aimsflow_smtp=smtp),
            hook_factory=lambda conn: FakeHook(sent),
        )
    assert used == ["log"] and sent == [] and "has no 'to'" in caplog.text


def test_slack_webhook_and_a_failing_channel_does_not_stop_the_others(caplog):
    requests = []

    def opener(request, timeout):
        requests.append((request, timeout))
        return FakeResponse()

    smtp = SimpleNamespace(extra_dejson={"to": ["aims@example.com"]})
    slack = SimpleNamespace(password="https://hooks.slack.example/services/T/B/X", host=None)
    with caplog.at_level(logging.ERROR):
        used = deliver(
            Notice("subject", "text", ()),
            get_connection=connections(aimsflow_smtp=smtp, aimsflow_slack=slack),
            hook_factory=lambda conn: FakeHook([], fail=True),
            opener=opener,
        )
    assert used == ["log", "slack"] and "smtp down" in caplog.text
    ((request, timeout),) = requests
    assert request.full_url == "https://hooks.slack.example/services/T/B/X" and request.get_method() == "POST"
    assert json.loads(request.data) == {"text": "text"} and timeout == 10


def test_slack_connection_without_url_is_logged(caplog):
    with caplog.at_level(logging.ERROR):
        used = deliver(
            Notice("s", "t", ()),
            get_connection=connections(aimsflow_slack=SimpleNamespace(password=None, host=None)),
        )
    assert used == ["log"] and "no webhook URL" in caplog.text


@pytest.mark.parametrize("summary", [NEW, {"notify": {"new_high_risks": [], "new_nonconformities": []}}])
def test_the_notifier_reads_this_tries_record(write, summary):
    day = dt.date(2026, 11, 27)
    write(
        "risk_reassessment/reassess",
        day,
        Status.failed,
        dataset=None,
        summary=summary,
        dag_id="risk_reassessment",
        task_id="reassess",
        run_id="manual__1",
        try_number=1,
    )
    requests = []
    notifier = RiskNotifier(
        get_connection=connections(aimsflow_slack=SimpleNamespace(password="https://hooks.example/x")),
        opener=lambda request, timeout: requests.append(request) or FakeResponse(),
    )
    ti = SimpleNamespace(dag_id="risk_reassessment", run_id="manual__1", task_id="reassess", try_number=1)
    notifier({"ti": ti})  # as Airflow calls a callback
    if summary is NEW:
        assert notifier.sent == ["log", "slack"] and len(requests) == 1
        assert "R-DQ-01" in json.loads(requests[0].data)["text"]
    else:
        assert notifier.sent == [] and requests == []
    other_try = SimpleNamespace(
        dag_id="risk_reassessment", run_id="manual__1", task_id="reassess", try_number=2
    )
    RiskNotifier(get_connection=connections())({"ti": other_try})  # no record of that try: nothing, no error
