"""Amazon Connect contact events (EventBridge `aws.connect` / `Amazon Connect Contact Event`) on the
customer's timeline: voice calls as `call`, chats as `chat`, matched by the customer endpoint's phone
number or mail address with the rule of logged calls (a number several customers hold waits for a
person). Each contact id + event type is recorded once (a delivery marker), whatever EventBridge
redelivers. Connect documents that new fields and event types appear over time: unknown ones are ignored.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from supportpilot.ids import stable_ulid
from supportpilot.phone import DEFAULT_COUNTRY_CODE, normalise_phone
from supportpilot.ports import DeliveryRecord, DuplicateDelivery, TicketStore
from supportpilot.timeline.calls import CONNECT_STAGES, UnmatchedContacts, contact_event
from supportpilot.timeline.customers import CustomerDirectory, match_customer
from supportpilot.timeline.models import UnmatchedContact

RECORDED_EVENT_TYPES = frozenset(CONNECT_STAGES)
_CHANNELS = {"voice": "phone", "chat": "chat"}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ConnectEndpoint(_Lenient):
    type: str | None = None
    address: str | None = None


class ConnectAgentInfo(_Lenient):
    connected_to_agent_timestamp: datetime | None = Field(default=None, alias="connectedToAgentTimestamp")


class ConnectContactDetail(_Lenient):
    event_type: str = Field(alias="eventType")
    contact_id: str = Field(alias="contactId", min_length=1)
    channel: str
    initiation_method: str | None = Field(default=None, alias="initiationMethod")
    initiation_timestamp: datetime | None = Field(default=None, alias="initiationTimestamp")
    connected_to_system_timestamp: datetime | None = Field(default=None, alias="connectedToSystemTimestamp")
    disconnect_timestamp: datetime | None = Field(default=None, alias="disconnectTimestamp")
    customer_endpoint: ConnectEndpoint | None = Field(default=None, alias="customerEndpoint")
    agent_info: ConnectAgentInfo | None = Field(default=None, alias="agentInfo")


class ConnectContactEvent(_Lenient):
    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    time: datetime
    detail: ConnectContactDetail

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> "ConnectContactEvent":
        """Connect's samples mix `agentInfo` and `AgentInfo`: keys are read with a lower-case first letter."""
        return cls.model_validate(_lower_first(event))


def _lower_first(value: Any) -> Any:
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:] if k else k): _lower_first(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_first(v) for v in value]
    return value


class ConnectContactRecorder:
    def __init__(
        self,
        store: TicketStore,
        directory: CustomerDirectory,
        unmatched: UnmatchedContacts,
        country_code: str = DEFAULT_COUNTRY_CODE,
    ):
        self._store = store
        self._directory = directory
        self._unmatched = unmatched
        self._country_code = country_code

    def record(self, event: ConnectContactEvent) -> str:
        """What happened, as a short result safe to log: recorded, unmatched, duplicate_ignored, ignored_..."""
        detail = event.detail
        channel = _CHANNELS.get(detail.channel.lower())
        if detail.event_type not in RECORDED_EVENT_TYPES:
            return "ignored_event_type"
        if channel is None:
            return "ignored_channel"
        endpoint = detail.customer_endpoint or ConnectEndpoint()
        phone = email = None
        if (endpoint.type or "").upper() == "TELEPHONE_NUMBER" and endpoint.address:
            phone = normalise_phone(endpoint.address, self._country_code)
        elif (endpoint.type or "").upper() == "EMAIL_ADDRESS" and endpoint.address:
            email = endpoint.address
        if phone is None and email is None:
            return "ignored_no_customer_endpoint"
        occurred_at = _stage_time(event)
        contact = UnmatchedContact(
            id=stable_ulid(int(occurred_at.timestamp() * 1000), f"connect:{detail.contact_id}:{detail.event_type}"),
            source="connect",
            channel=channel,
            phone=phone,
            email=email,
            candidates=[],
            direction=_direction(detail.initiation_method),
            occurred_at=occurred_at,
            duration_seconds=_duration(detail),
            reference=detail.contact_id,
            event_type=detail.event_type,
        )
        match = match_customer(self._directory, email=email, phone=phone)
        if match.customer is None:
            # The id is derived from contact and event type: a redelivery overwrites the same item.
            self._unmatched.add_unmatched(contact.model_copy(update={"candidates": match.candidates}))
            return "unmatched"
        record = DeliveryRecord(
            dedupe_key=f"connect:{detail.contact_id}:{detail.event_type}",
            timeline_events=[contact_event(match.customer.id, contact, None)],
        )
        try:
            self._store.record_delivery(record)
        except DuplicateDelivery:
            return "duplicate_ignored"
        return "recorded"


def _stage_time(event: ConnectContactEvent) -> datetime:
    detail = event.detail
    agent = detail.agent_info.connected_to_agent_timestamp if detail.agent_info else None
    stage = {
        "INITIATED": detail.initiation_timestamp,
        "CONNECTED_TO_AGENT": agent,
        "DISCONNECTED": detail.disconnect_timestamp,
    }[detail.event_type]
    return stage or event.time


def _direction(initiation_method: str | None) -> str:
    return "outbound" if (initiation_method or "").upper() in {"OUTBOUND", "CALLBACK", "API"} else "inbound"


def _duration(detail: ConnectContactDetail) -> int | None:
    start = detail.connected_to_system_timestamp or detail.initiation_timestamp
    if detail.event_type != "DISCONNECTED" or start is None or detail.disconnect_timestamp is None:
        return None
    return max(int((detail.disconnect_timestamp - start).total_seconds()), 0)
