"""Which customer a mail address or phone number belongs to.

A mail address is an identity of its own (`identity.email_customer`). A phone number is a contact
point: it names whichever customers it was seen with (an operator logging a call for a known
customer, an imported ticket with both address and number, an order the shop sent with the buyer's
address and number). A number held by two customers is
ambiguous: nothing is attached to either until a person decides.
"""

from typing import Protocol

from supportpilot.identity import customer_key, email_customer
from supportpilot.models import CustomerIdentity, CustomerMatch

PHONE_HANDLE_PREFIX = "phone:"


class CustomerDirectory(Protocol):
    def customer(self, customer_id: str) -> CustomerIdentity | None: ...
    def customers_with_phone(self, phone: str) -> list[CustomerIdentity]:
        """Every customer the E.164 number was linked to."""
        ...

    def link(self, customer: CustomerIdentity, phone: str | None) -> None:
        """Remember the customer's identity and, when given, that the E.164 number reaches them."""
        ...


class UnknownCustomer(LookupError):
    """A customer id that the desk has never seen."""


def phone_customer(phone: str) -> CustomerIdentity:
    """A caller nobody knows yet: a customer keyed on the number until an address joins it."""
    handle = PHONE_HANDLE_PREFIX + phone
    return CustomerIdentity(id=customer_key("handle", handle), kind="handle", value=handle)


def match_customer(
    directory: CustomerDirectory,
    *,
    customer_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    display_name: str | None = None,
) -> CustomerMatch:
    """The customer named by id, else by address, else by phone number (E.164). A number alone that
    several customers hold is ambiguous; a number nobody holds becomes a new phone customer. An
    explicit id or address wins over the number, and the number is linked to that customer."""
    if customer_id is not None:
        known = directory.customer(customer_id)
        if known is None:
            raise UnknownCustomer(customer_id)
        customer = known
    elif email is not None and (by_address := email_customer(email, display_name)) is not None:
        customer = by_address
    elif phone is not None:
        holders = directory.customers_with_phone(phone)
        if len(holders) > 1:
            return CustomerMatch(ambiguous=True, candidates=sorted(c.id for c in holders))
        customer = holders[0] if holders else phone_customer(phone)
    else:
        return CustomerMatch()
    directory.link(customer, phone)
    return CustomerMatch(customer=customer)
