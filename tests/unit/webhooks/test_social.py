"""X and Meta: endpoint checks, signatures, one envelope per customer message, and hostile input."""

import base64
import contextlib
import copy
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportpilot.identity import customer_key
from supportpilot.webhooks import (
    SOURCES,
    Normalised,
    SignatureError,
    WebhookEnvelope,
    WebhookRejected,
    sign_meta,
    sign_x,
    verify_meta,
    verify_x,
    x_crc_response_token,
)
from supportpilot.webhooks.social import MAX_MESSAGES_PER_REQUEST

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "receive_webhook"
RECEIVED_AT = datetime(2024, 6, 5, 9, 30, tzinfo=UTC)
SECRET = "test-app-secret"
JSON = {"content-type": "application/json"}
FAST = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 100)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
X, META = SOURCES["x"], SOURCES["meta"]


def _sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def _body(name: str) -> dict:
    return json.loads(_sample(name)["body"])


def _parse(source, payload: dict) -> list[WebhookEnvelope]:
    envelopes = source.parse(json.dumps(payload).encode(), JSON, RECEIVED_AT)
    assert isinstance(envelopes, list)
    # What the worker gets is what survived the queue.
    return [WebhookEnvelope.model_validate_json(envelope.model_dump_json()) for envelope in envelopes]


def _opening(source, payload: dict):
    (envelope,) = _parse(source, payload)
    normalised = source.normalise(envelope)
    assert normalised.timeline_events == []
    assert normalised.ticket is not None
    return envelope, normalised.ticket


def _reference_hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


# --- handshakes ---------------------------------------------------------------------------------------


def test_x_crc_check_answers_with_the_token_signed_by_the_consumer_secret():
    # The token/secret pair of X's CRC example; the expected value is computed as X's docs describe.
    token, secret = "9b4507b3-9040-4669-9ca3-6b94edb50553", "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu"
    expected = "sha256=" + base64.b64encode(_reference_hmac(secret, token.encode())).decode()
    answer = X.handshake({"crc_token": token}, {"x": secret})
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert json.loads(answer.body) == {"response_token": expected}
    assert x_crc_response_token(token, secret) == expected


@pytest.mark.parametrize(
    ("query", "secrets", "status"),
    [
        ({}, {"x": SECRET}, 400),
        ({"crc_token": ""}, {"x": SECRET}, 400),
        ({"crc_token": "t" * 257}, {"x": SECRET}, 400),
        ({"crc_token": "abc"}, {}, 403),
    ],
)
def test_x_crc_check_without_token_or_secret_is_refused(query, secrets, status):
    answer = X.handshake(query, secrets)
    assert answer.status == status
    assert "error" in json.loads(answer.body)
    assert SECRET not in answer.body


VERIFY = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "my-verify-token"}


def test_meta_verification_echoes_the_challenge_as_plain_text():
    answer = META.handshake(VERIFY, {"meta_verify_token": "my-verify-token"})
    assert (answer.status, answer.body, answer.content_type) == (200, "1158201444", "text/plain")


@pytest.mark.parametrize(
    ("query", "secrets", "status"),
    [
        (VERIFY, {"meta_verify_token": "another-token"}, 403),
        (VERIFY | {"hub.verify_token": "my-verify-token "}, {"meta_verify_token": "my-verify-token"}, 403),
        (VERIFY | {"hub.verify_token": "é"}, {"meta_verify_token": "my-verify-token"}, 403),
        (VERIFY, {}, 403),
        ({k: v for k, v in VERIFY.items() if k != "hub.challenge"}, {"meta_verify_token": "my-verify-token"}, 400),
        ({k: v for k, v in VERIFY.items() if k != "hub.verify_token"}, {"meta_verify_token": "my-verify-token"}, 400),
        (VERIFY | {"hub.mode": "unsubscribe"}, {"meta_verify_token": "my-verify-token"}, 400),
        (VERIFY | {"hub.challenge": "<script>"}, {"meta_verify_token": "my-verify-token"}, 400),
    ],
)
def test_meta_verification_refuses_a_wrong_token_or_missing_parameters(query, secrets, status):
    answer = META.handshake(query, secrets)
    assert answer.status == status
    assert answer.content_type == "application/json"
    assert "1158201444" not in answer.body and "my-verify-token" not in answer.body


def test_only_the_social_sources_have_a_handshake():
    assert {name for name, source in SOURCES.items() if source.handshake} == {"x", "meta"}
    assert X.handshake_secrets == ("x",) and META.handshake_secrets == ("meta_verify_token",)


# --- signatures ---------------------------------------------------------------------------------------

BODY = b'{"object": "page", "entry": []}'


def test_signers_follow_each_platforms_scheme():
    digest = _reference_hmac(SECRET, BODY)
    assert sign_x(BODY, SECRET) == {"x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode()}
    assert sign_meta(BODY, SECRET) == {"x-hub-signature-256": "sha256=" + digest.hex()}


@pytest.mark.parametrize(("sign", "verify"), [(sign_x, verify_x), (sign_meta, verify_meta)])
def test_good_signatures_pass_and_wrong_ones_fail_without_echoing_anything(sign, verify):
    verify(BODY, sign(BODY, SECRET), SECRET)
    with pytest.raises(SignatureError, match="signature does not match") as wrong_secret:
        verify(BODY, sign(BODY, "other-secret"), SECRET)
    with pytest.raises(SignatureError, match="signature does not match") as tampered:
        verify(BODY.replace(b"page", b"user"), sign(BODY, SECRET), SECRET)
    for caught in (wrong_secret, tampered):
        assert SECRET not in str(caught.value) and "page" not in str(caught.value)


@pytest.mark.parametrize(
    ("verify", "header"), [(verify_x, "X-Twitter-Webhooks-Signature"), (verify_meta, "X-Hub-Signature-256")]
)
def test_missing_signature_header_is_named(verify, header):
    with pytest.raises(SignatureError, match=f"missing {header} header"):
        verify(BODY, JSON, SECRET)


@pytest.mark.parametrize(
    ("verify", "value", "message"),
    [
        (verify_meta, _reference_hmac(SECRET, BODY).hex(), "does not start with sha256="),
        (verify_meta, "sha256=" + "z" * 64, "not a hex SHA-256 digest"),
        (verify_meta, "sha256=" + "é" * 64, "not a hex SHA-256 digest"),
        (verify_meta, "sha256=abc", "not a hex SHA-256 digest"),
        (verify_x, base64.b64encode(_reference_hmac(SECRET, BODY)).decode(), "does not start with sha256="),
        (verify_x, "sha256=not base64!", "not valid base64"),
        (verify_x, "sha256=" + _reference_hmac(SECRET, BODY).hex(), "signature does not match"),
    ],
)
def test_malformed_signature_headers_are_rejected(verify, value, message):
    header = "x-hub-signature-256" if verify is verify_meta else "x-twitter-webhooks-signature"
    with pytest.raises(SignatureError, match=message):
        verify(BODY, {header: value}, SECRET)


def test_meta_accepts_an_upper_case_hex_digest():
    verify_meta(BODY, {"x-hub-signature-256": "sha256=" + _reference_hmac(SECRET, BODY).hex().upper()}, SECRET)


def test_each_sample_is_signed_with_the_development_secret():
    from supportpilot.local.stack import DEMO_WEBHOOK_SECRETS

    for name in ("x_mention", "x_direct_message", "meta_instagram_message", "meta_whatsapp_message"):
        event = _sample(name)
        source = SOURCES[event["pathParameters"]["source"]]
        headers = {k.lower(): v for k, v in event["headers"].items()}
        source.verify(event["body"].encode(), headers, DEMO_WEBHOOK_SECRETS[source.secret_name], 0)


# --- X payloads ---------------------------------------------------------------------------------------


def test_a_mention_opens_a_ticket_for_the_posting_user():
    envelope, ticket = _opening(X, _body("x_mention"))
    assert (envelope.source, envelope.topic) == ("x", "tweet_create_events")
    assert envelope.dedupe_key == "x:tweet:1790000000000000001"
    assert ticket.title == "Mention on X"
    assert ticket.body.startswith("@ExampleShop my order #1042")
    assert ticket.external_id == envelope.dedupe_key
    assert ticket.customer.kind == "handle" and ticket.customer.value == "x:4000000099"
    assert ticket.customer.id == customer_key("handle", "x:4000000099")
    assert ticket.customer.display_name == "@test_customer_0099"


def test_a_direct_message_opens_a_ticket_and_the_shops_own_reply_is_skipped():
    payload = _body("x_direct_message")
    assert len(payload["direct_message_events"]) == 2  # the customer's message and the shop's answer
    envelope, ticket = _opening(X, payload)
    assert (envelope.topic, envelope.dedupe_key) == ("direct_message_events", "x:dm:1790000000000000101")
    assert ticket.title == "Direct message on X"
    assert ticket.body.startswith("Hoi, ik heb de verkeerde maat")
    assert ticket.customer.value == "x:4000000077" and ticket.customer.display_name == "@test_klant_0077"


def test_x_dedupe_keys_are_stable_across_redeliveries():
    first = [e.dedupe_key for e in _parse(X, _body("x_direct_message"))]
    again = [e.dedupe_key for e in _parse(X, _body("x_direct_message"))]
    assert first == again == ["x:dm:1790000000000000101"]


def test_the_shops_own_posts_reposts_and_other_events_open_nothing():
    mention = _body("x_mention")["tweet_create_events"][0]
    own_post = copy.deepcopy(mention) | {"user": {"id_str": "4000000001", "screen_name": "ExampleShop"}}
    repost = copy.deepcopy(mention) | {"retweeted_status": {"id_str": "1"}}
    payload = {
        "for_user_id": "4000000001",
        "tweet_create_events": [own_post, repost],
        "favorite_events": [{"id": "1"}],
        "direct_message_indicate_typing_events": [{"sender_id": "4000000077"}],
        "direct_message_events": [{"type": "message_read", "id": "2"}],
    }
    assert _parse(X, payload) == []


def test_a_long_post_uses_its_full_text():
    payload = _body("x_mention")
    payload["tweet_create_events"][0]["extended_tweet"] = {"full_text": "The whole story, not truncated."}
    assert _opening(X, payload)[1].body == "The whole story, not truncated."


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.pop("for_user_id"), "for_user_id"),
        (lambda p: p["tweet_create_events"][0].pop("id_str"), "tweet_create_events[].id_str"),
        (lambda p: p["tweet_create_events"][0]["user"].update(id_str="1 2"), "user.id_str"),
    ],
)
def test_x_payloads_without_usable_ids_are_rejected_by_field_name(change, field):
    payload = _body("x_mention")
    change(payload)
    with pytest.raises(WebhookRejected, match=field.replace("[", r"\[").replace("]", r"\]")) as caught:
        _parse(X, payload)
    assert caught.value.status == 400


# --- Meta payloads ------------------------------------------------------------------------------------


def test_an_instagram_message_opens_a_ticket_and_the_echo_is_skipped():
    payload = _body("meta_instagram_message")
    assert len(payload["entry"][0]["messaging"]) == 2  # the customer's message and the shop's echo
    envelope, ticket = _opening(META, payload)
    assert (envelope.source, envelope.topic) == ("meta", "instagram")
    assert envelope.dedupe_key == "meta:aWdfZAG1faXRlbTpFAKE0FAKE0FAKE0001"
    assert ticket.title == "Message on Instagram"
    assert ticket.body.startswith("Hi! Do you ship the linen shirt")
    assert ticket.customer.value == "meta:990000000000001"
    assert ticket.customer.id == customer_key("handle", "meta:990000000000001")
    assert ticket.external_id == envelope.dedupe_key


def test_a_whatsapp_message_opens_a_ticket_keyed_on_its_wamid():
    envelope, ticket = _opening(META, _body("meta_whatsapp_message"))
    assert (envelope.topic, envelope.dedupe_key) == (
        "whatsapp_business_account",
        "meta:wamid.FAKEFAKEFAKEFAKEFAKE0001=",
    )
    assert ticket.title == "Message on WhatsApp"
    assert ticket.body.startswith("Goedemiddag, mijn pakket")
    assert ticket.customer.value == "meta:447700900123" and ticket.customer.display_name == "Test Klant"


def test_a_messenger_message_from_the_page_itself_is_skipped():
    payload = _body("meta_instagram_message") | {"object": "page"}
    (envelope,) = _parse(META, payload)
    assert envelope.topic == "page"
    assert META.normalise(envelope).ticket.title == "Message on Messenger"
    customer_event = payload["entry"][0]["messaging"][0]
    from_page = copy.deepcopy(customer_event) | {"sender": {"id": payload["entry"][0]["id"]}}
    payload["entry"][0]["messaging"] = [from_page]
    assert _parse(META, payload) == []


def test_whatsapp_status_updates_and_reactions_open_nothing():
    payload = _body("meta_whatsapp_message")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [{"from": "447700900123", "id": "wamid.R1", "type": "reaction", "reaction": {"emoji": "x"}}]
    value["statuses"] = [{"id": "wamid.S1", "status": "delivered", "recipient_id": "447700900123"}]
    assert _parse(META, payload) == []


def test_a_photo_without_text_still_opens_a_ticket_that_says_so():
    payload = _body("meta_whatsapp_message")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message |= {"type": "image", "image": {"id": "media-1", "mime_type": "image/jpeg"}}
    assert "open the conversation on WhatsApp" in _opening(META, payload)[1].body
    message["image"]["caption"] = "Zo kwam het pakket aan"
    assert _opening(META, payload)[1].body == "Zo kwam het pakket aan"


def test_meta_dedupe_keys_are_stable_across_redeliveries():
    keys = [[e.dedupe_key for e in _parse(META, _body(name))] for name in ("meta_whatsapp_message",) * 2]
    assert keys[0] == keys[1] == ["meta:wamid.FAKEFAKEFAKEFAKEFAKE0001="]


def _whatsapp_batch(count: int) -> dict:
    payload = _body("meta_whatsapp_message")
    template = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    messages = [template | {"id": f"wamid.BATCH{index:04d}"} for index in range(count)]
    payload["entry"][0]["changes"][0]["value"]["messages"] = messages
    return payload


def test_a_batch_of_1000_notifications_becomes_1000_envelopes():
    envelopes = _parse(META, _whatsapp_batch(MAX_MESSAGES_PER_REQUEST))
    assert len(envelopes) == 1000
    assert len({e.dedupe_key for e in envelopes}) == 1000


def test_more_than_1000_messages_in_one_request_is_rejected():
    with pytest.raises(WebhookRejected, match="more than 1000 messages"):
        _parse(META, _whatsapp_batch(MAX_MESSAGES_PER_REQUEST + 1))


def test_an_object_the_desk_does_not_handle_is_nothing_to_do_but_a_malformed_one_is_rejected():
    assert _parse(META, {"object": "permissions", "entry": [{"id": "1", "changes": []}]}) == []
    with pytest.raises(WebhookRejected, match="'object' and 'entry'"):
        _parse(META, {"object": "page"})


def test_a_rejected_whatsapp_message_never_names_the_phone_number():
    payload = _body("meta_whatsapp_message")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    for broken in ({"id": "not an id"}, {"from": "+44 7700 900123"}):
        with pytest.raises(WebhookRejected) as caught:
            _parse(META, copy.deepcopy(payload) | {"entry": [_with_message(payload, message | broken)]})
        assert "447700900123" not in str(caught.value) and "7700" not in str(caught.value)


def _with_message(payload: dict, message: dict) -> dict:
    entry = copy.deepcopy(payload["entry"][0])
    entry["changes"][0]["value"]["messages"] = [message]
    return entry


def test_normalise_rejects_a_queued_payload_that_is_not_a_social_message_without_echoing_it():
    envelope = WebhookEnvelope(
        source="meta", topic="whatsapp", dedupe_key="meta:x", received_at=RECEIVED_AT, payload={"text": "+447700900123"}
    )
    with pytest.raises(WebhookRejected) as caught:
        META.normalise(envelope)
    assert "7700" not in str(caught.value)


def test_requests_that_are_not_json_are_rejected():
    for source in (X, META):
        with pytest.raises(WebhookRejected, match="Content-Type"):
            source.parse(b"{}", {"content-type": "text/plain"}, RECEIVED_AT)
        with pytest.raises(WebhookRejected, match="JSON object"):
            source.parse(b"[]", JSON, RECEIVED_AT)


# --- hostile input ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


def mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a well-formed value, so examples get past the first checks; sometimes anything."""
    return st.integers(0, 7).flatmap(lambda draw: valid if draw else json_values)


ids = mostly(st.sampled_from(["4000000001", "4000000077", "1790000000000000001", "mid.1", "wamid.A="]))
texts = mostly(st.text(max_size=20))
tweets = st.fixed_dictionaries(
    {"id_str": ids, "user": mostly(st.fixed_dictionaries({"id_str": ids, "screen_name": texts})), "text": texts},
    optional={"retweeted_status": json_values, "extended_tweet": json_values, "in_reply_to_status_id_str": ids},
)
direct_messages = st.fixed_dictionaries(
    {
        "type": mostly(st.just("message_create")),
        "id": ids,
        "message_create": mostly(
            st.fixed_dictionaries({"sender_id": ids, "message_data": mostly(st.fixed_dictionaries({"text": texts}))})
        ),
    }
)
x_payloads = st.fixed_dictionaries(
    {"for_user_id": ids},
    optional={
        "tweet_create_events": mostly(st.lists(mostly(tweets), max_size=3)),
        "direct_message_events": mostly(st.lists(mostly(direct_messages), max_size=3)),
        "users": json_values,
    },
)
messaging = st.fixed_dictionaries(
    {"sender": mostly(st.fixed_dictionaries({"id": ids}))},
    optional={"message": mostly(st.fixed_dictionaries({"mid": ids, "text": texts}, optional={"is_echo": json_values}))},
)
whatsapp_messages = st.fixed_dictionaries(
    {"from": ids, "id": ids, "type": mostly(st.sampled_from(["text", "image", "reaction"]))},
    optional={"text": mostly(st.fixed_dictionaries({"body": texts})), "image": json_values},
)
entries = st.fixed_dictionaries(
    {"id": ids},
    optional={
        "messaging": mostly(st.lists(mostly(messaging), max_size=3)),
        "changes": mostly(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "value": mostly(
                            st.fixed_dictionaries({"messages": st.lists(mostly(whatsapp_messages), max_size=3)})
                        )
                    }
                ),
                max_size=2,
            )
        ),
    },
)
meta_payloads = st.fixed_dictionaries(
    {
        "object": mostly(st.sampled_from(["page", "instagram", "whatsapp_business_account", "user"])),
        "entry": mostly(st.lists(mostly(entries), max_size=2)),
    }
)
social_payloads = x_payloads | meta_payloads
bodies = st.binary(max_size=200) | social_payloads.map(lambda payload: json.dumps(payload).encode())
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"]) | st.text(
    max_size=20
)


@FAST
@given(raw=bodies, content_type=content_types)
def test_parse_and_normalise_only_raise_webhook_rejected(raw, content_type):
    for source in (X, META):
        try:
            envelopes = source.parse(raw, {"content-type": content_type}, RECEIVED_AT)
        except WebhookRejected as rejected:
            assert rejected.status == 400
            continue
        assert isinstance(envelopes, list)
        for envelope in envelopes:
            queued = WebhookEnvelope.model_validate_json(envelope.model_dump_json())
            normalised = source.normalise(queued)
            assert isinstance(normalised, Normalised) and normalised.ticket is not None
            normalised.model_dump_json()


signature_values = (
    st.text(max_size=100)
    | st.builds(lambda tail: "sha256=" + tail, st.text(max_size=70))
    | st.binary(min_size=32, max_size=32).map(lambda b: "sha256=" + b.hex())
    | st.binary(min_size=32, max_size=32).map(lambda b: "sha256=" + base64.b64encode(b).decode())
)


@FAST
@given(
    raw=st.binary(max_size=200),
    headers=st.dictionaries(
        st.sampled_from(["x-twitter-webhooks-signature", "x-hub-signature-256"]) | st.text(max_size=20),
        signature_values,
        max_size=3,
    ),
    secret=st.text(max_size=20),
)
def test_verify_only_raises_signature_error(raw, headers, secret):
    for verify in (verify_x, verify_meta):
        with contextlib.suppress(SignatureError):
            verify(raw, headers, secret)


@FAST
@given(
    query=st.dictionaries(
        st.sampled_from(["crc_token", "hub.mode", "hub.challenge", "hub.verify_token"]) | st.text(max_size=10),
        st.text(max_size=40),
        max_size=4,
    ),
    secrets=st.dictionaries(st.sampled_from(["x", "meta_verify_token"]), st.text(max_size=20), max_size=2),
)
def test_handshakes_answer_every_query_with_a_status(query, secrets):
    for source in (X, META):
        answer = source.handshake(query, secrets)
        assert answer.status in (200, 400, 403)
        if answer.status == 200 and source is META:
            assert answer.body == query["hub.challenge"] and answer.body.isdigit()
