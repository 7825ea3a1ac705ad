"""Mail through SES -> receive_mail -> ingest -> classify, on the template's resources in moto."""

import email.message
import uuid

import boto3

from supportpilot.models import TicketStatus
from tests.conftest import EVENTS


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def build_mail(subject: str, body: str, sender: str = "alex@example.com", **headers: str) -> bytes:
    message = email.message.EmailMessage()
    message["From"] = f"Alex Example <{sender}>"
    message["To"] = headers.pop("to", "support@shop.example.nl")
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.com>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def test_a_dutch_mail_becomes_a_triaged_ticket_with_clean_text_and_an_audit_trail(pipeline):
    pipeline.deliver_mail("order_status_nl", unique("order-status"))
    pipeline.drain()
    ticket = pipeline.ticket_with_subject("Waar blijft mijn bestelling #1001?")
    assert ticket.channel == "email"
    assert ticket.customer.value == "jan.voorbeeld@example.nl"
    assert ticket.status == TicketStatus.WAITING_ON_HUMAN, "no tracking number known: a person answers"
    assert ticket.language == "nl"
    assert ticket.triage is not None and ticket.triage.category == "order_status"
    (message,) = pipeline.inbound_messages(ticket.id)
    assert "waar mijn pakket is" in message.body
    assert "Met vriendelijke groet" not in message.body and "Met vriendelijke groet" in message.signature
    assert message.raw_s3_key and message.raw_s3_key.startswith("raw/")
    actors = [(entry.actor.kind, entry.actor.id, entry.action) for entry in pipeline.store.audit_trail(ticket.id)]
    assert ("system", "ingest", "ticket_opened") in actors
    triaged = [e for e in pipeline.store.audit_trail(ticket.id) if e.action == "triaged"]
    assert triaged[0].actor.kind == "model" and triaged[0].actor.version


def test_windows_1252_mail_keeps_its_euro_sign_and_accents(pipeline):
    pipeline.deliver_mail("windows1252_nl", unique("cp1252"))
    pipeline.drain()
    ticket = next(t for t in pipeline.tickets() if "cafeti" in t.subject)
    (message,) = pipeline.inbound_messages(ticket.id)
    assert "€" in message.body
    assert "cafetière" in ticket.subject


def test_spam_verdict_fail_quarantines_the_mail_instead_of_opening_a_ticket(pipeline):
    before = len(pipeline.tickets())
    ses_id = unique("spam")
    pipeline.deliver_mail("spam_quarantined", ses_id, spamVerdict="FAIL")
    pipeline.drain()
    assert len(pipeline.tickets()) == before
    quarantined = pipeline.store.quarantined(ses_id)
    assert quarantined is not None and quarantined.reasons == ["spam verdict FAIL"]
    bucket = pipeline.stack.physical_id("MailBucket")
    assert boto3.client("s3").head_object(Bucket=bucket, Key=quarantined.raw_s3_key)["ContentLength"] > 0


def test_auto_replies_and_bounces_never_open_tickets(pipeline):
    before = len(pipeline.tickets())
    pipeline.deliver_mail("auto_reply_nl", unique("ooo"))
    pipeline.deliver_mail("bounce", unique("bounce"))
    pipeline.drain()
    assert len(pipeline.tickets()) == before


def test_ses_redelivery_records_the_mail_once(pipeline):
    ses_id = unique("redelivered")
    subject = unique("Where is parcel")
    raw = build_mail(subject, "Hello, where is my parcel for order #1001? Thanks, Alex")
    pipeline.deliver_raw_mail(raw, ses_id)
    pipeline.deliver_raw_mail(raw, ses_id)
    pipeline.drain()
    ticket = pipeline.ticket_with_subject(subject)
    assert len(pipeline.inbound_messages(ticket.id)) == 1


def test_replies_thread_by_in_reply_to_subject_token_and_plus_address(pipeline):
    subject = unique("Broken lamp")
    first = build_mail(subject, "My lamp arrived broken. Order #1001.")
    first_id = email.message_from_bytes(first)["Message-ID"]
    pipeline.deliver_raw_mail(first, unique("first"))
    pipeline.drain()
    ticket = pipeline.ticket_with_subject(subject)

    by_header = build_mail(f"Re: {subject}", "Any news?", In_Reply_To=first_id, References=first_id)
    by_token = build_mail(f"Re: lamp [#SP-{ticket.id}]", "Here is a photo.")
    plus_address = f"support+{ticket.id.lower()}@shop.example.nl"
    by_plus = build_mail("lamp again", "Still waiting.", to=plus_address)
    for raw in (by_header, by_token):
        pipeline.deliver_raw_mail(raw, unique("reply"))
    pipeline.deliver_raw_mail(by_plus, unique("reply"), recipients=[plus_address])
    pipeline.drain()
    assert len(pipeline.inbound_messages(ticket.id)) == 4


def test_someone_else_cannot_write_into_a_ticket_by_its_token(pipeline):
    subject = unique("Password reset")
    pipeline.deliver_raw_mail(build_mail(subject, "I cannot log in."), unique("owner"))
    pipeline.drain()
    ticket = pipeline.ticket_with_subject(subject)
    intruder = build_mail(f"[#SP-{ticket.id}] hello", "Let me in.", sender="mallory@example.com")
    pipeline.deliver_raw_mail(intruder, unique("intruder"))
    pipeline.drain()
    assert len(pipeline.inbound_messages(ticket.id)) == 1
    assert any(t.customer.value == "mallory@example.com" for t in pipeline.tickets())


def test_a_customer_reply_reopens_a_closed_ticket_for_a_person(pipeline):
    subject = unique("Invoice VAT")
    first = build_mail(subject, "The VAT on my invoice is wrong.")
    pipeline.deliver_raw_mail(first, unique("vat"))
    pipeline.drain()
    ticket = pipeline.ticket_with_subject(subject)
    boto3.client("dynamodb").update_item(
        TableName=pipeline.stack.physical_id("DeskTable"),
        Key={"pk": {"S": f"TICKET#{ticket.id}"}, "sk": {"S": "#TICKET"}},
        UpdateExpression="SET #s = :closed",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":closed": {"S": "closed"}},
    )
    pipeline.deliver_raw_mail(build_mail(f"Re: [#SP-{ticket.id}]", "It is still wrong."), unique("vat-reply"))
    pipeline.drain()
    assert pipeline.store.get_ticket(ticket.id).status == TicketStatus.WAITING_ON_HUMAN
    assert "ticket_reopened" in [e.action for e in pipeline.store.audit_trail(ticket.id)]


def test_truncated_mime_still_opens_a_ticket_with_a_warning_and_the_raw_mail(pipeline):
    ses_id = unique("truncated")
    pipeline.deliver_mail("truncated", ses_id)
    pipeline.drain()
    ticket = next(
        t
        for t in pipeline.tickets()
        if t.warnings and any(m.raw_s3_key == f"raw/{ses_id}" for m in pipeline.inbound_messages(t.id))
    )
    assert ticket.triage is not None and ticket.triage.needs_human
    assert any("could not be read completely" in reason for reason in ticket.triage.reasons)


def test_a_30_mb_attachment_is_kept_in_the_raw_mail_and_flagged(pipeline):
    message = email.message.EmailMessage()
    message["From"] = "alex@example.com"
    message["To"] = "support@shop.example.nl"
    subject = unique("Video of the defect")
    message["Subject"] = subject
    message.set_content("See the attached video of the broken blender.")
    message.add_attachment(b"\0" * (30 * 1024 * 1024), maintype="video", subtype="mp4", filename="defect.mp4")
    pipeline.deliver_raw_mail(message.as_bytes(), unique("big"))
    pipeline.drain()
    ticket = pipeline.ticket_with_subject(subject)
    (stored,) = pipeline.inbound_messages(ticket.id)
    (attachment,) = stored.attachments
    assert attachment.size == 30 * 1024 * 1024 and attachment.s3_key is None and attachment.warning


def test_attachments_are_stored_in_s3_with_their_metadata(pipeline):
    pipeline.deliver_mail("attachment_en", unique("attachment"))
    pipeline.drain()
    ticket = next(t for t in pipeline.tickets() if "Damaged delivery" in t.subject)
    (message,) = pipeline.inbound_messages(ticket.id)
    assert len(message.attachments) >= 2
    bucket = pipeline.stack.physical_id("MailBucket")
    for attachment in message.attachments:
        head = boto3.client("s3").head_object(Bucket=bucket, Key=attachment.s3_key)
        assert head["ContentLength"] == attachment.size
    assert (EVENTS / "mail" / "attachment_en.eml").exists()
