"""`supportpilot demo` end to end: moto server, the local API over HTTP, SQS pollers in threads."""

import json
import subprocess
import sys

import pytest

from tests.conftest import EVENTS, PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_run() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "supportpilot.cli", "demo", "--once", "--json", "--port", "0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_demo_once_json_exits_0_with_one_json_line_per_ticket(demo_run):
    assert demo_run.returncode == 0, demo_run.stderr[-2000:]
    tickets = [json.loads(line) for line in demo_run.stdout.splitlines()]
    assert tickets, "the samples must produce tickets"
    fields = {"id", "channel", "status", "category", "language", "queue", "priority", "automation_level", "reasons"}
    assert all(set(t) == fields | {"escalation_state"} for t in tickets)
    assert len({t["id"] for t in tickets}) == len(tickets)


def test_every_channel_of_the_samples_produced_classified_tickets(demo_run):
    tickets = [json.loads(line) for line in demo_run.stdout.splitlines()]
    assert {t["channel"] for t in tickets} == {"email", "form", "shopify", "stripe", "x", "meta"}
    assert all(t["category"] and t["language"] for t in tickets)


def test_machine_mail_and_spam_open_no_tickets_and_replies_join_their_thread(demo_run):
    mails = len(list((EVENTS / "receive_mail").glob("*.json")))
    tickets = [json.loads(line) for line in demo_run.stdout.splitlines()]
    # the auto-reply, the bounce and the spam sample open nothing; reply_with_token_en references
    # html_only_en's Message-ID and joins that ticket
    assert sum(t["channel"] == "email" for t in tickets) == mails - 3 - 1


def test_the_demo_reports_its_replay_on_stderr(demo_run):
    assert "replayed" in demo_run.stderr and "202" in demo_run.stderr


def test_the_samples_show_every_automation_level_and_waiting_escalations(demo_run):
    tickets = [json.loads(line) for line in demo_run.stdout.splitlines()]
    assert {t["automation_level"] for t in tickets} == {"auto_reply", "suggest", "human_now"}
    assert all(t["reasons"] for t in tickets)
    escalated = [t for t in tickets if t["automation_level"] != "auto_reply"]
    assert all(t["escalation_state"] == "waiting" for t in escalated)
    assert {t["queue"] for t in tickets} >= {"billing", "returns", "technical_support", "privacy", "general"}
