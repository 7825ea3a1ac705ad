"""DynamoDB items of the customer timeline beyond tickets and events (same table, keys below).

| item                | pk                     | sk                        | gsi2pk / gsi2sk                   |
|---------------------|------------------------|---------------------------|-----------------------------------|
| customer identity   | CUSTOMER#<cid>         | #IDENTITY                 |                                   |
| phone contact point | CUSTOMER#<cid>         | PHONE#<sha256(E.164)>     | PHONE#<sha256(E.164)> / CUSTOMER#<cid> |
| unmatched contact   | UNMATCHED              | CONTACT#<ulid>            |                                   |
| imported label      | TICKET#<id>            | IMPORTED_LABEL            |                                   |
| import job          | IMPORT#<id>            | #JOB                      |                                   |
| import checkpoint   | IMPORT#<id>            | #CHECKPOINT               |                                   |

Contact points live in the customer's partition, so erasing a customer removes them; they are found
by number through the sparse `open-by-queue` index (its PHONE# keys never collide with QUEUE# keys).
"""

from typing import Any

from supportpilot.adapters.dynamodb import ConditionFailed, DynamoTicketStore, key_hash, serialise
from supportpilot.models import CustomerIdentity, Message, utc_now
from supportpilot.timeline.models import Checkpoint, ImportedLabel, ImportJob, UnmatchedContact

UNMATCHED_PK = "UNMATCHED"
_BATCH = 25


class DynamoTimelineStore(DynamoTicketStore):
    # ---------- customers ----------
    def customer(self, customer_id: str) -> CustomerIdentity | None:
        item = self._get({"pk": f"CUSTOMER#{customer_id}", "sk": "#IDENTITY"})
        if item is not None:
            return CustomerIdentity.model_validate(item)
        tickets = self.tickets_of_customer(customer_id)  # customers from before identities were stored
        return tickets[0].customer if tickets else None

    def customers_with_phone(self, phone: str) -> list[CustomerIdentity]:
        items = self._query(
            IndexName="open-by-queue",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues=serialise({":pk": f"PHONE#{key_hash(phone)}"}),
        )
        found = [self.customer(item["customer_id"]) for item in items]
        return [customer for customer in found if customer is not None]

    def link(self, customer: CustomerIdentity, phone: str | None) -> None:
        now = utc_now()
        items = [self._identity_item(customer, now)]
        if phone is not None:
            items.append(self._phone_item(customer.id, phone, now))
        self._put_all(items)

    # ---------- unmatched contacts ----------
    def add_unmatched(self, contact: UnmatchedContact) -> None:
        item = {
            "pk": UNMATCHED_PK,
            "sk": f"CONTACT#{contact.id}",
            "kind": "unmatched_contact",
            "expires_at": self._expires_at(contact.occurred_at, "timeline_events"),
            **contact.model_dump(mode="json"),
        }
        self._call("put_item", TableName=self._table, Item=serialise(item))

    def unmatched_contacts(self) -> list[UnmatchedContact]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialise({":pk": UNMATCHED_PK, ":prefix": "CONTACT#"}),
        )
        return [UnmatchedContact.model_validate(i) for i in items]

    def unmatched_contact(self, contact_id: str) -> UnmatchedContact | None:
        item = self._get({"pk": UNMATCHED_PK, "sk": f"CONTACT#{contact_id}"})
        return UnmatchedContact.model_validate(item) if item else None

    def remove_unmatched(self, contact_id: str) -> bool:
        """False when another person attached it meanwhile."""
        try:
            self._transact(
                [
                    {
                        "Delete": {
                            "Key": {"pk": UNMATCHED_PK, "sk": f"CONTACT#{contact_id}"},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    }
                ]
            )
        except ConditionFailed:
            return False
        return True

    # ---------- imports ----------
    def put_messages(self, messages: list[Message]) -> None:
        self._put_all([self._message_item(message) for message in messages])

    def put_imported_label(self, label: ImportedLabel) -> None:
        item = {
            "pk": f"TICKET#{label.ticket_id}",
            "sk": "IMPORTED_LABEL",
            "kind": "imported_label",
            "expires_at": self._expires_at(label.imported_at),
            **label.model_dump(mode="json"),
        }
        self._call("put_item", TableName=self._table, Item=serialise(item))

    def imported_label(self, ticket_id: str) -> ImportedLabel | None:
        item = self._get({"pk": f"TICKET#{ticket_id}", "sk": "IMPORTED_LABEL"})
        return ImportedLabel.model_validate(item) if item else None

    def save_job(self, job: ImportJob) -> None:
        item = {
            "pk": f"IMPORT#{job.id}",
            "sk": "#JOB",
            "kind": "import_job",
            "expires_at": self._expires_at(job.requested_at, "audit"),
            **job.model_dump(mode="json"),
        }
        self._call("put_item", TableName=self._table, Item=serialise(item))

    def job(self, import_id: str) -> ImportJob | None:
        item = self._get({"pk": f"IMPORT#{import_id}", "sk": "#JOB"})
        return ImportJob.model_validate(item) if item else None

    def checkpoints(self, import_id: str) -> "DynamoImportCheckpoints":
        return DynamoImportCheckpoints(self, import_id)

    def _put_all(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), _BATCH):
            requests = [{"PutRequest": {"Item": serialise(item)}} for item in items[start : start + _BATCH]]
            pending: dict[str, Any] = {self._table: requests}
            while pending:
                response = self._call("batch_write_item", RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}


class DynamoImportCheckpoints:
    """The checkpoint of one import job, in the job's partition."""

    def __init__(self, store: DynamoTimelineStore, import_id: str):
        self._store = store
        self._key = {"pk": f"IMPORT#{import_id}", "sk": "#CHECKPOINT"}

    def load(self) -> Checkpoint | None:
        item = self._store._get(self._key)
        return Checkpoint.model_validate(item) if item else None

    def save(self, checkpoint: Checkpoint) -> None:
        item = {**self._key, "kind": "import_checkpoint", **checkpoint.model_dump(mode="json")}
        self._store._call("put_item", TableName=self._store._table, Item=serialise(item))
