"""The operator console in a real browser, against `supportpilot demo` with its replayed sample tickets."""

import base64
import json
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from supportpilot.adapters.notify_store import DynamoNotifyStore
from supportpilot.adapters.sqs import SqsWorkQueue
from supportpilot.envelopes import NotifyRequest
from supportpilot.ids import new_ulid
from supportpilot.local.stack import DEMO_OPERATOR_PASSWORD, DEMO_WEBHOOK_SECRETS, REGION, STACK_NAME
from supportpilot.notify.service import SendMarker
from supportpilot.webhooks import sign_form
from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

AGENT, SUPERVISOR = "agent@example.com", "supervisor@example.com"
PRIORITY_RANK = {"P1": 1, "P2": 2, "P3": 3}
HOSTILE_TEXT = (
    '<script>window.__injected = true</script><img src="x" onerror="window.__injected = true"> Waar is mijn pakket?'
)


def wait(driver, timeout: float = 20):
    """The page re-renders a section after each action: an element read meanwhile may be replaced."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))


def visible(driver, element_id: str):
    return wait(driver).until(seen.visibility_of_element_located((By.ID, element_id)))


def sign_in(driver, demo, email: str, password: str = DEMO_OPERATOR_PASSWORD) -> None:
    driver.get(demo.console_url)
    driver.execute_script("sessionStorage.clear(); localStorage.clear();")
    driver.get(demo.console_url)
    visible(driver, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()


def queue_rows(driver) -> list:
    visible(driver, "queue-view")
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#queue-rows tr"))
    return driver.find_elements(By.CSS_SELECTOR, "#queue-rows tr")


def open_ticket(driver, ticket_id: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#queue-rows tr[data-ticket-id="{ticket_id}"] a').click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#audit-rows tr"))


def switch_language(driver, language: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'button.lang[data-lang="{language}"]').click()
    wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == language)


def error_text(driver) -> str:
    return visible(driver, "error").text


def audit_rows(driver) -> list[tuple[str, str]]:
    """(who, what) per row of the audit trail."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#audit-rows tr")
    return [tuple(cell.text for cell in row.find_elements(By.TAG_NAME, "td")[1:3]) for row in rows]


def subject_of(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def screenshot(driver, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOTS) / name))


def urgency(ticket: dict) -> tuple:
    return (
        0 if ticket["sla_state"] == "breached" else 1,
        PRIORITY_RANK.get(ticket["priority"], 4),
        1 if ticket["sla_state"] == "claimed" else 0,
        ticket["sla_due_at"] or "9999",
        ticket["created_at"],
    )


def test_a_wrong_password_shows_an_error_and_keeps_the_queue_closed(demo, browser):
    sign_in(browser, demo, AGENT, "Not-The-Password-1!")
    assert "Wrong e-mail address or password" in error_text(browser)
    assert not browser.find_element(By.ID, "queue-view").is_displayed()


def test_the_queue_lists_open_tickets_most_urgent_first_with_sla_timers(demo, browser):
    sign_in(browser, demo, AGENT)
    rows = queue_rows(browser)
    status, page = demo.call("GET", "/api/tickets?limit=50", demo.token(AGENT))
    assert status == 200
    expected = [t["id"] for t in sorted(page["tickets"], key=urgency)]
    assert [row.get_attribute("data-ticket-id") for row in rows] == expected
    priorities = [PRIORITY_RANK.get(row.get_attribute("data-priority"), 4) for row in rows]
    assert priorities[0] == 1 and priorities == sorted(priorities)  # no breaches among the fresh samples
    timers = [row.find_element(By.CLASS_NAME, "sla").text for row in rows]
    assert any(timer.endswith("left") for timer in timers), timers
    assert browser.find_elements(By.CSS_SELECTOR, "#queue-rows .marker.emotional"), "emotional-load markers"
    screenshot(browser, "queue.png")


def test_approving_a_suggestion_and_correcting_a_label_land_in_the_audit_trail_with_the_operator_id(demo, browser):
    sign_in(browser, demo, AGENT)
    rows = queue_rows(browser)
    # The most urgent ticket that waits on a suggestion a person must decide.
    waiting = next(row for row in rows if row.find_elements(By.CSS_SELECTOR, ".marker.suggest"))
    ticket_id = waiting.get_attribute("data-ticket-id")
    open_ticket(browser, ticket_id)
    for section in ("messages", "triage", "routing", "customer", "timeline", "escalation"):
        assert browser.find_element(By.ID, section).text.strip(), f"{section} is empty"
    browser.find_element(By.CSS_SELECTOR, '#suggestion-form button[value="approved"]').click()
    wait(browser).until(lambda d: d.find_element(By.ID, "suggestion-status").text == "Approved")
    assert "Suggestion approved" in browser.find_element(By.ID, "status").text

    browser.find_element(By.ID, "label-category").send_keys("product_question")
    browser.find_element(By.CSS_SELECTOR, '#label-emotional option[value="true"]').click()
    browser.find_element(By.CSS_SELECTOR, "#label-form button[type=submit]").click()
    wait(browser).until(lambda d: "label_corrected" in [what for _, what in audit_rows(d)])

    operator = f"Operator: {subject_of(demo.token(AGENT))}"
    assert (operator, "suggestion_decided") in audit_rows(browser)
    assert (operator, "label_corrected") in audit_rows(browser)
    assert "product_question" in browser.find_element(By.ID, "labels").text
    assert "High emotional load" in browser.find_element(By.ID, "ticket-meta").text
    screenshot(browser, "ticket.png")


def test_an_invalid_label_names_the_field_and_a_decision_taken_meanwhile_is_a_conflict(demo, browser):
    sign_in(browser, demo, AGENT)
    rows = queue_rows(browser)
    waiting = [r.get_attribute("data-ticket-id") for r in rows if r.find_elements(By.CSS_SELECTOR, ".marker.suggest")]
    undecided = next(
        ticket_id
        for ticket_id in waiting
        if demo.call("GET", f"/api/tickets/{ticket_id}", demo.token(AGENT))[1]["suggested_action"]["status"]
        == "proposed"
    )
    open_ticket(browser, undecided)
    browser.find_element(By.ID, "label-category").send_keys("Not a category")
    browser.find_element(By.CSS_SELECTOR, "#label-form button[type=submit]").click()
    assert "Invalid input (422)" in error_text(browser) and "category" in error_text(browser)

    # A supervisor rejects it through the API while the agent still has it open.
    status, _ = demo.call(
        "POST", f"/api/tickets/{undecided}/suggestion", demo.token(SUPERVISOR), {"decision": "rejected"}
    )
    assert status == 200
    browser.find_element(By.CSS_SELECTOR, '#suggestion-form button[value="approved"]').click()
    wait(browser).until(lambda d: "Conflict (409)" in d.find_element(By.ID, "error").text)
    assert f"already rejected by operator {subject_of(demo.token(SUPERVISOR))}" in error_text(browser)
    # The ticket is loaded again: the agent sees the supervisor's decision, no longer a form to decide.
    wait(browser).until(lambda d: d.find_element(By.ID, "suggestion-status").text == "Rejected")
    assert not browser.find_element(By.ID, "suggestion-form").is_displayed()


def test_a_conflict_stays_said_when_loading_the_ticket_again_fails(demo, browser):
    sign_in(browser, demo, AGENT)
    rows = queue_rows(browser)
    undecided = next(
        ticket_id
        for ticket_id in (r.get_attribute("data-ticket-id") for r in rows)
        if (demo.call("GET", f"/api/tickets/{ticket_id}", demo.token(AGENT))[1].get("suggested_action") or {}).get(
            "status"
        )
        == "proposed"
    )
    open_ticket(browser, undecided)
    status, _ = demo.call(
        "POST", f"/api/tickets/{undecided}/suggestion", demo.token(SUPERVISOR), {"decision": "rejected"}
    )
    assert status == 200
    # The next load of a ticket fails, as when the API is briefly unavailable.
    browser.execute_script(
        """
        const original = window.fetch;
        window.fetch = (url, options = {}) => {
          const ticketLoad = (options.method || "GET") === "GET" && String(url).includes("api/tickets/");
          if (!ticketLoad) return original(url, options);
          window.fetch = original;
          return Promise.resolve(new Response('{"message": "unavailable"}', { status: 503 }));
        };
        """
    )

    browser.find_element(By.CSS_SELECTOR, '#suggestion-form button[value="approved"]').click()

    wait(browser).until(lambda d: "Loading its current state failed" in d.find_element(By.ID, "status").text)
    assert "Conflict (409)" in error_text(browser)
    assert f"already rejected by operator {subject_of(demo.token(SUPERVISOR))}" in error_text(browser)


def test_the_ui_switches_to_dutch(demo, browser):
    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    browser.find_element(By.CSS_SELECTOR, 'button.lang[data-lang="nl"]').click()
    wait(browser).until(lambda d: d.find_element(By.ID, "queue-title").text == "Wachtrij")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
    assert browser.find_element(By.CSS_SELECTOR, "#queue-table caption").text == "Tickets, meest urgente eerst"
    assert browser.find_element(By.CSS_SELECTOR, 'label[for="filter-queue"]').text == "Teamwachtrij"
    assert any(t.text.startswith("nog ") for t in browser.find_elements(By.CSS_SELECTOR, "#queue-rows .sla"))
    browser.find_element(By.CSS_SELECTOR, 'button.lang[data-lang="en"]').click()
    wait(browser).until(lambda d: d.find_element(By.ID, "queue-title").text == "Queue")


def test_html_in_a_customer_message_is_shown_as_text_and_nothing_runs(demo, browser):
    body = json.dumps({"email": "xss@example.nl", "subject": "<b>Bestelling</b> #1001", "message": HOSTILE_TEXT})
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        **sign_form(raw, DEMO_WEBHOOK_SECRETS["form"], timestamp=int(time.time())),
    }
    request = urllib.request.Request(f"{demo.api_url}/webhooks/form", raw, headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
    token = demo.token(AGENT)
    ticket_id = None
    for _ in range(200):
        tickets = demo.call("GET", "/api/tickets?limit=100", token)[1]["tickets"]
        ticket_id = next((t["id"] for t in tickets if t["subject"] == "<b>Bestelling</b> #1001"), None)
        if ticket_id:
            break
        time.sleep(0.1)
    assert ticket_id, "the form message did not become a ticket"

    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    browser.get(f"{demo.console_url}/index.html#ticket/{ticket_id}")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .body"))
    assert browser.find_element(By.ID, "ticket-title").text == "<b>Bestelling</b> #1001"
    assert HOSTILE_TEXT in browser.find_element(By.CSS_SELECTOR, "#messages .body").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#messages img, #messages script, #ticket-title b")
    assert browser.execute_script("return window.__injected === undefined")


def test_an_agent_sees_no_supervisor_tools_and_gets_the_403_message(demo, browser):
    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    assert not browser.find_element(By.CSS_SELECTOR, 'a[href="#breaches"]').is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, 'a[href="#workload"]').is_displayed()
    browser.get(f"{demo.console_url}/index.html#breaches")
    assert "Not allowed for your role (403)" in error_text(browser)
    browser.get(f"{demo.console_url}/index.html#workload")
    wait(browser).until(lambda d: "Not allowed for your role (403)" in d.find_element(By.ID, "error").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#workload-operators table")

    sign_in(browser, demo, SUPERVISOR)
    queue_rows(browser)
    assert browser.find_element(By.CSS_SELECTOR, 'a[href="#breaches"]').is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, 'a[href="#workload"]').is_displayed()
    browser.find_element(By.CSS_SELECTOR, 'a[href="#breaches"]').click()
    visible(browser, "breaches-view")
    wait(browser).until(
        lambda d: (
            d.find_element(By.ID, "breaches-empty").is_displayed()
            or d.find_elements(By.CSS_SELECTOR, "#breach-list li")
        )
    )
    assert not browser.find_element(By.ID, "error").is_displayed()


def test_a_token_the_api_refuses_sends_the_operator_back_to_sign_in(demo, browser):
    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    token = demo.token(AGENT)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    browser.execute_script("sessionStorage.setItem('supportpilot.idToken', arguments[0]);", tampered)
    browser.refresh()
    visible(browser, "sign-in-view")
    assert "Your session has ended" in error_text(browser)


def claim_and_close_a_waiting_ticket(demo, token: str) -> str:
    tickets = demo.call("GET", "/api/tickets?limit=100", token)[1]["tickets"]
    ticket_id = next(t["id"] for t in tickets if t["sla_state"] == "ok" and t["sla_due_at"] and not t["claimed_by"])
    assert demo.call("POST", f"/api/tickets/{ticket_id}/claim", token)[0] == 200
    assert demo.call("POST", f"/api/tickets/{ticket_id}/close", token)[0] == 200
    return ticket_id


def test_a_supervisor_sees_the_workload_an_agent_did_and_opens_the_report(demo, browser):
    agent = demo.token(AGENT)
    claim_and_close_a_waiting_ticket(demo, agent)
    figures = demo.call("GET", "/api/workload", demo.token(SUPERVISOR))[1]
    (expected,) = [row for row in figures["operators"] if row["key"] == subject_of(agent)]
    assert expected["handled"] >= 1

    sign_in(browser, demo, SUPERVISOR)
    queue_rows(browser)
    browser.find_element(By.CSS_SELECTOR, 'a[href="#workload"]').click()
    row = wait(browser).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'#workload-operators tr[data-key="{subject_of(agent)}"]')
    )
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#workload-operators thead th")]
    cells = dict(zip(headers[1:], [td.text for td in row.find_elements(By.TAG_NAME, "td")], strict=True))
    assert cells["Handled"] == str(expected["handled"])
    assert any(character.isdigit() for character in cells["Median handling time"])
    assert browser.find_elements(By.CSS_SELECTOR, "#workload-teams tbody tr")
    assert "7 days" in browser.find_element(By.ID, "workload-period").text
    screenshot(browser, "workload.png")

    browser.find_element(By.ID, "open-report").click()
    frame = visible(browser, "report-frame")
    assert frame.get_attribute("sandbox") == ""  # no scripts, no same-origin rights
    assert browser.find_element(By.ID, "report-download").get_attribute("download").startswith("supportpilot-report-")
    browser.switch_to.frame(frame)
    try:
        chart = wait(browser).until(
            lambda d: d.find_element(By.CSS_SELECTOR, 'svg[aria-label="tickets per day by category"]')
        )
        assert chart.find_elements(By.TAG_NAME, "rect"), "the category chart has bars"
        assert "SupportPilot report" in browser.find_element(By.TAG_NAME, "h1").text
        # The report's stylesheet is allowed by hash under the console's policy: the page is styled.
        assert browser.execute_script("return getComputedStyle(document.querySelector('h1')).fontSize") == "24px"
    finally:
        browser.switch_to.default_content()


def test_an_agent_logs_a_call_for_the_tickets_customer_and_finds_it_on_the_customer_timeline(demo, browser):
    sign_in(browser, demo, AGENT)
    ticket_id = queue_rows(browser)[0].get_attribute("data-ticket-id")
    open_ticket(browser, ticket_id)
    assert "Filled in with this ticket's customer" in browser.find_element(By.ID, "call-for").text
    customer_id = browser.find_element(By.ID, "call-customer-id").get_attribute("value")
    browser.find_element(By.ID, "call-duration").send_keys("4")
    browser.find_element(By.ID, "call-summary").send_keys("Klant belde over de levering; pakket komt morgen.")
    browser.find_element(By.CSS_SELECTOR, '#call-outcome option[value="callback_promised"]').click()
    browser.find_element(By.CSS_SELECTOR, "#call-form button[type=submit]").click()

    result = visible(browser, "call-result")
    assert result.get_attribute("data-matched") == "true"
    assert customer_id in result.text
    result.find_element(By.CSS_SELECTOR, f'a[href="#customer/{customer_id}"]').click()
    call = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, '#customer-events li[data-kind="call"]'))
    assert "Call" in call.text and "callback promised" in call.text
    assert "Klant belde over de levering; pakket komt morgen." in call.text
    tickets = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#customer-tickets a")]
    assert any(href.endswith(f"#ticket/{ticket_id}") for href in tickets)


def test_a_call_from_a_number_two_customers_share_waits_until_an_agent_attaches_it(demo, browser):
    token = demo.token(AGENT)
    call = {"direction": "inbound", "started_at": "2026-03-02T10:00:00+01:00", "duration_seconds": 60}
    shared = "+31 6 0000 0042"
    for email in ("shared-a@example.nl", "shared-b@example.nl"):
        body = {**call, "email": email, "phone": shared, "summary": "Vraag over een bestelling.", "outcome": "resolved"}
        assert demo.call("POST", "/api/calls", token, body)[0] == 200

    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    browser.find_element(By.ID, "queue-log-call").click()
    visible(browser, "calls-view")
    browser.find_element(By.ID, "call-phone").send_keys(shared)
    browser.find_element(By.ID, "call-duration").send_keys("2")
    browser.find_element(By.ID, "call-summary").send_keys("Wie was dit? Belt terug over retour.")
    browser.find_element(By.CSS_SELECTOR, "#call-form button[type=submit]").click()
    result = visible(browser, "call-result")
    assert result.get_attribute("data-matched") == "false"
    assert "Unmatched: needs a person." in result.text

    contact = wait(browser).until(
        lambda d: next(
            li for li in d.find_elements(By.CSS_SELECTOR, "#unmatched-list li") if "Belt terug over retour" in li.text
        )
    )
    contact_id = contact.get_attribute("data-contact-id")
    chosen = contact.find_element(By.TAG_NAME, "select").get_attribute("value")
    contact.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(lambda d: "Contact attached to customer" in d.find_element(By.ID, "status").text)
    assert not browser.find_elements(By.CSS_SELECTOR, f'#unmatched-list li[data-contact-id="{contact_id}"]')
    timeline = demo.call("GET", f"/api/customers/{chosen}/timeline", token)[1]
    assert any("Belt terug over retour" in str(event["details"]) for event in timeline["events"])


def test_a_double_clicked_reply_is_queued_once_and_the_same_words_written_again_are_a_new_reply(demo, browser):
    sign_in(browser, demo, AGENT)
    rows = queue_rows(browser)
    ticket_id = rows[-1].get_attribute("data-ticket-id")
    open_ticket(browser, ticket_id)
    for _ in range(2):  # the same words, composed twice
        visible(browser, "reply-text").send_keys("Thank you, we are on it.")
        # Two submits before the first answer comes back: a double click.
        browser.execute_script("const f = document.getElementById('reply-form'); f.requestSubmit(); f.requestSubmit();")
        wait(browser).until(lambda d: d.find_element(By.ID, "reply-text").get_attribute("value") == "")
        wait(browser).until(lambda d: "Reply queued for sending." in d.find_element(By.ID, "status").text)
    token = demo.token(AGENT)
    queued: list = []
    for _ in range(200):
        detail = demo.call("GET", f"/api/tickets/{ticket_id}", token)[1]
        queued = [e for e in detail["audit"] if e["action"] == "operator_reply_queued"]
        sent = [m for m in detail["messages"] if m["direction"] == "outbound" and "we are on it" in m["body"]]
        if len(sent) >= 2:
            break
        time.sleep(0.1)
    assert len(queued) == 2 and len(sent) == 2


def reply_of_unknown_delivery(demo, ticket_id: str, operator_id: str) -> str:
    """A reply whose first attempt stopped after SES took it: its marker still says `sending` when the
    request comes again, so the demo's notify stage records the delivery as unknown and sends nothing.
    Returns its request id."""

    def client(service: str):
        return boto3.client(service, endpoint_url=demo.moto_url, region_name=REGION)

    def physical_id(logical_id: str) -> str:
        resource = client("cloudformation").describe_stack_resource(StackName=STACK_NAME, LogicalResourceId=logical_id)
        return resource["StackResourceDetail"]["PhysicalResourceId"]

    request = NotifyRequest(
        kind="operator_reply", ticket_id=ticket_id, text="Your parcel left today.", operator_id=operator_id
    )
    marker = SendMarker(
        request_id=request.request_id, state="sending", message_id=new_ulid(), claimed_at=datetime.now(UTC)
    )
    assert DynamoNotifyStore(client("dynamodb"), physical_id("DeskTable"), 730).claim_send(ticket_id, marker) is None
    SqsWorkQueue(client("sqs"), physical_id("NotifyQueue")).send(request)
    return request.request_id


def unknown_deliveries(demo, ticket_id: str, token: str, request_id: str) -> list[str]:
    """The request ids of the ticket's mails whose delivery is unknown, once the notify stage has recorded
    request_id's (it runs in the background)."""
    unconfirmed: list[str] = []
    for _ in range(200):
        detail = demo.call("GET", f"/api/tickets/{ticket_id}", token)[1]
        unconfirmed = [entry["detail"]["request_id"] for entry in detail["unconfirmed_sends"]]
        if request_id in unconfirmed:
            break
        time.sleep(0.1)
    return unconfirmed


def test_an_agent_who_hears_the_customer_did_not_get_a_mail_clears_the_marker_and_is_sent_to_the_reply(demo, browser):
    token = demo.token(AGENT)
    tickets = demo.call("GET", "/api/tickets?limit=100", token)[1]["tickets"]
    ticket_id = next(t["id"] for t in tickets if t["channel"] == "email")
    request_id = reply_of_unknown_delivery(demo, ticket_id, subject_of(token))
    assert unknown_deliveries(demo, ticket_id, token, request_id) == [request_id]

    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    browser.get(f"{demo.console_url}/index.html#ticket/{ticket_id}")
    send = wait(browser).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'#unconfirmed-send-list li[data-request-id="{request_id}"]')
    )
    assert "Mail status unknown (1)" in browser.find_element(By.ID, "ticket-meta").text
    assert "Reply by an operator" in send.text
    send.find_element(By.XPATH, ".//button[text()='Customer did not get it']").click()
    wait(browser).until(lambda d: not d.find_element(By.ID, "unconfirmed-sends").is_displayed())
    assert "Mail status unknown" not in browser.find_element(By.ID, "ticket-meta").text
    assert "null" not in browser.find_element(By.ID, "ticket-meta").text
    assert "write your reply below" in browser.find_element(By.ID, "status").text
    assert browser.switch_to.active_element == browser.find_element(By.ID, "reply-text")
    assert (f"Operator: {subject_of(token)}", "customer_notification_checked") in audit_rows(browser)


def test_on_a_closed_ticket_a_mail_the_customer_did_not_get_says_to_reopen_the_ticket_to_reply(demo, browser):
    token = demo.token(AGENT)
    tickets = demo.call("GET", "/api/tickets?limit=100", token)[1]["tickets"]
    ticket_id = next(t["id"] for t in tickets if t["channel"] == "email" and t["status"] != "closed")
    request_id = reply_of_unknown_delivery(demo, ticket_id, subject_of(token))
    assert unknown_deliveries(demo, ticket_id, token, request_id) == [request_id]
    assert demo.call("POST", f"/api/tickets/{ticket_id}/close", token)[0] == 200

    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    browser.get(f"{demo.console_url}/index.html#ticket/{ticket_id}")
    send = wait(browser).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'#unconfirmed-send-list li[data-request-id="{request_id}"]')
    )
    send.find_element(By.XPATH, ".//button[text()='Customer did not get it']").click()
    wait(browser).until(lambda d: not d.find_element(By.ID, "unconfirmed-sends").is_displayed())
    assert browser.find_element(By.ID, "status").text == (
        "Noted: the customer did not get that mail. "
        "The desk does not send it again: reopen the ticket to reply to them."
    )
    assert browser.find_element(By.ID, "reply-closed").is_displayed()
    assert browser.switch_to.active_element != browser.find_element(By.ID, "reply-text")


def test_a_mail_someone_else_checked_meanwhile_reloads_the_ticket_and_says_so_in_the_operators_language(demo, browser):
    token, supervisor = demo.token(AGENT), demo.token(SUPERVISOR)
    tickets = demo.call("GET", "/api/tickets?limit=100", token)[1]["tickets"]
    ticket_id = next(t["id"] for t in tickets if t["channel"] == "email")
    request_id = reply_of_unknown_delivery(demo, ticket_id, subject_of(token))
    assert request_id in unknown_deliveries(demo, ticket_id, token, request_id)

    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    browser.find_element(By.CSS_SELECTOR, 'button.lang[data-lang="nl"]').click()
    browser.get(f"{demo.console_url}/index.html#ticket/{ticket_id}")
    sent = f'#unconfirmed-send-list li[data-request-id="{request_id}"]'
    send = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, sent))
    # A supervisor hears first that the customer got it, while the agent still has the ticket open.
    path = f"/api/tickets/{ticket_id}/unconfirmed-sends/{request_id}/checked"
    assert demo.call("POST", path, supervisor, {"customer_got_it": True})[0] == 200
    send.find_element(By.XPATH, ".//button[text()='Klant heeft hem niet gekregen']").click()

    wait(browser).until(lambda d: "Conflict (409)" in d.find_element(By.ID, "error").text)
    assert f"already checked by operator {subject_of(supervisor)}" in error_text(browser)
    # Reloaded: the agent sees what the supervisor did, and is told so in Dutch.
    wait(browser).until(lambda d: not d.find_elements(By.CSS_SELECTOR, sent))
    assert (f"Medewerker: {subject_of(supervisor)}", "customer_notification_checked") in audit_rows(browser)
    status = browser.find_element(By.ID, "status")
    assert status.text.startswith("Niet uitgevoerd: het ticket is intussen gewijzigd")
    assert "opnieuw geladen" in status.text
    assert browser.find_element(By.ID, "error").is_displayed()
    browser.find_element(By.CSS_SELECTOR, 'button.lang[data-lang="en"]').click()
    wait(browser).until(lambda d: d.find_element(By.ID, "status").text.startswith("Not done: the ticket changed"))


def test_a_contact_someone_else_attached_meanwhile_leaves_the_list_of_unmatched_contacts(demo, browser):
    token = demo.token(AGENT)
    shared = "+31 6 0000 0077"
    call = {"direction": "inbound", "started_at": "2026-03-02T11:00:00+01:00", "duration_seconds": 60}
    for email in ("twin-a@example.nl", "twin-b@example.nl"):
        body = {**call, "email": email, "phone": shared, "summary": "Vraag over een factuur.", "outcome": "resolved"}
        assert demo.call("POST", "/api/calls", token, body)[0] == 200
    body = {**call, "phone": shared, "summary": "Onbekende beller over een factuur.", "outcome": "unresolved"}
    assert demo.call("POST", "/api/calls", token, body)[1]["matched"] is False
    unmatched = demo.call("GET", "/api/calls/unmatched", token)[1]
    contact = next(c for c in unmatched if c["summary"] == "Onbekende beller over een factuur.")

    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    browser.find_element(By.ID, "queue-log-call").click()
    item = f'#unmatched-list li[data-contact-id="{contact["id"]}"]'
    button = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, f"{item} button[type=submit]"))
    attach = {"customer_id": contact["candidates"][0]}
    path = f"/api/calls/unmatched/{contact['id']}/attach"
    assert demo.call("POST", path, demo.token(SUPERVISOR), attach)[0] == 200
    button.click()

    wait(browser).until(lambda d: "Conflict (409)" in d.find_element(By.ID, "error").text)
    wait(browser).until(lambda d: not d.find_elements(By.CSS_SELECTOR, item))
    assert browser.find_element(By.ID, "status").text.startswith("Not done: this contact was attached meanwhile")


def test_the_status_line_follows_a_switch_of_language(demo, browser):
    sign_in(browser, demo, AGENT)
    ticket_id = queue_rows(browser)[0].get_attribute("data-ticket-id")
    assert browser.find_element(By.ID, "status").text == f"Signed in as {AGENT}."
    browser.find_element(By.CSS_SELECTOR, 'button.lang[data-lang="nl"]').click()
    wait(browser).until(lambda d: d.find_element(By.ID, "status").text == f"Aangemeld als {AGENT}.")

    open_ticket(browser, ticket_id)
    browser.find_element(By.ID, "note-text").send_keys("Klant teruggebeld, wacht op foto's.")
    browser.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "status").text == "Notitie toegevoegd.")
    browser.find_element(By.CSS_SELECTOR, 'button.lang[data-lang="en"]').click()
    wait(browser).until(lambda d: d.find_element(By.ID, "messages-title").text == "Messages")
    assert browser.find_element(By.ID, "status").text == "Note added."


def test_the_status_line_speaks_of_the_view_on_screen_not_of_one_left_behind(demo, browser):
    sign_in(browser, demo, AGENT)
    ticket_id = queue_rows(browser)[0].get_attribute("data-ticket-id")
    assert browser.find_element(By.ID, "status").text == f"Signed in as {AGENT}."

    open_ticket(browser, ticket_id)
    assert browser.find_element(By.ID, "status").text == ""
    browser.find_element(By.ID, "note-text").send_keys("Customer called back, waits for photos.")
    browser.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "status").text == "Note added.")
    browser.find_element(By.CSS_SELECTOR, '#nav a[href="#queue"]').click()
    queue_rows(browser)
    assert browser.find_element(By.ID, "status").text == ""


def test_signing_out_clears_who_was_signed_in(demo, browser):
    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    assert browser.find_element(By.ID, "status").text == f"Signed in as {AGENT}."
    browser.find_element(By.ID, "sign-out").click()
    visible(browser, "email")
    assert browser.find_element(By.ID, "status").text == ""


def test_the_error_box_follows_a_switch_of_language_and_keeps_the_apis_reason_as_sent(demo, browser):
    sign_in(browser, demo, AGENT, "Not-The-Password-1!")
    wait(browser).until(lambda d: d.find_element(By.ID, "error").text == "Wrong e-mail address or password.")
    switch_language(browser, "nl")
    assert error_text(browser) == "Onjuist e-mailadres of wachtwoord."

    sign_in(browser, demo, AGENT)  # signing in again starts in English
    ticket_id = queue_rows(browser)[0].get_attribute("data-ticket-id")
    open_ticket(browser, ticket_id)
    browser.find_element(By.ID, "label-category").send_keys("Not a category")
    browser.find_element(By.CSS_SELECTOR, "#label-form button[type=submit]").click()
    assert error_text(browser) == "Invalid input (422) \N{EN DASH} field “category”"
    switch_language(browser, "nl")
    assert error_text(browser) == "Ongeldige invoer (422) \N{EN DASH} veld „category”"

    missing = new_ulid()
    status, answer = demo.call("GET", f"/api/tickets/{missing}", demo.token(AGENT))
    assert status == 404 and answer["message"]
    browser.get(f"{demo.console_url}/index.html#ticket/{missing}")
    wait(browser).until(lambda d: d.find_element(By.ID, "error").text == f"Niet gevonden (404): {answer['message']}")
    switch_language(browser, "en")
    assert error_text(browser) == f"Not found (404): {answer['message']}"  # the API's reason, as it sent it

    # A message of the console's own, and the session's end, which sends the operator back to sign in.
    browser.find_element(By.CSS_SELECTOR, 'a[href="#calls"]').click()
    visible(browser, "calls-view")
    browser.find_element(By.ID, "call-duration").send_keys("1")
    browser.find_element(By.ID, "call-summary").send_keys("No customer given.")
    browser.find_element(By.CSS_SELECTOR, "#call-form button[type=submit]").click()
    assert error_text(browser) == "Give the customer's e-mail address, phone number or customer id."
    switch_language(browser, "nl")
    assert error_text(browser) == "Vul het e-mailadres, het telefoonnummer of de klant-id van de klant in."

    token = demo.token(AGENT)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    browser.execute_script("sessionStorage.setItem('supportpilot.idToken', arguments[0]);", tampered)
    browser.refresh()
    visible(browser, "sign-in-view")
    assert error_text(browser) == "Je sessie is verlopen. Meld je opnieuw aan."
    switch_language(browser, "en")
    assert error_text(browser) == "Your session has ended. Sign in again."


def test_an_error_does_not_leave_an_earlier_success_in_the_status_line(demo, browser):
    sign_in(browser, demo, AGENT)
    ticket_id = queue_rows(browser)[0].get_attribute("data-ticket-id")
    open_ticket(browser, ticket_id)
    browser.find_element(By.ID, "label-emotional").find_element(By.CSS_SELECTOR, 'option[value="false"]').click()
    browser.find_element(By.CSS_SELECTOR, "#label-form button[type=submit]").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "status").text == "Label saved.")
    browser.find_element(By.ID, "label-category").send_keys("Not a category")
    browser.find_element(By.CSS_SELECTOR, "#label-form button[type=submit]").click()
    assert error_text(browser).startswith("Invalid input (422)")
    assert browser.find_element(By.ID, "status").text == ""  # no "Label saved." next to the error

    # A note that is added, after which loading the ticket again fails: the note was added, and that stays said.
    browser.execute_script(
        """const original = window.fetch;
        window.fetch = (resource, options = {}) => {
          if ((options.method || "GET") !== "GET" || !String(resource).includes("/api/tickets/")) {
            return original(resource, options);
          }
          window.fetch = original;
          const body = JSON.stringify({ message: "the desk is busy" });
          return Promise.resolve(new Response(body, { status: 503, headers: { "Content-Type": "application/json" } }));
        };"""
    )
    browser.find_element(By.ID, "note-text").send_keys("Called the customer back.")
    browser.find_element(By.CSS_SELECTOR, "#note-form button[type=submit]").click()
    busy = "Not finished, try again (503): the desk is busy"
    wait(browser).until(lambda d: d.find_element(By.ID, "error").text == busy)
    assert browser.find_element(By.ID, "status").text == "Note added."


def test_a_closed_ticket_offers_no_reply_form_but_says_to_reopen_it_first(demo, browser):
    ticket_id = claim_and_close_a_waiting_ticket(demo, demo.token(AGENT))
    sign_in(browser, demo, AGENT)
    queue_rows(browser)
    browser.get(f"{demo.console_url}/index.html#ticket/{ticket_id}")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#audit-rows tr"))
    hint = visible(browser, "reply-closed")
    assert hint.text == "This ticket is closed. Reopen it with “Reopen ticket” at the top before you reply."
    assert not browser.find_element(By.ID, "reply-form").is_displayed()
    assert browser.find_element(By.ID, "reopen-ticket").is_displayed()
    assert browser.find_element(By.ID, "note-form").is_displayed()  # an internal note is still possible
    switch_language(browser, "nl")
    assert browser.find_element(By.ID, "reply-closed").text == (
        "Dit ticket is gesloten. Heropen het met „Ticket heropenen” bovenaan voordat je antwoordt."
    )

    browser.find_element(By.ID, "reopen-ticket").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "status").text == "Ticket heropend.")
    assert visible(browser, "reply-form").is_displayed()
    assert not browser.find_element(By.ID, "reply-closed").is_displayed()
