"""The operator's desk: the domain behind the operator API (queue, ticket detail, decisions, roles)."""

from supportpilot.operator.models import NotPermitted, Operator, Role
from supportpilot.operator.service import Conflict, InvalidRequest, NotAuthenticated, OperatorDesk

__all__ = ["Conflict", "InvalidRequest", "NotAuthenticated", "NotPermitted", "Operator", "OperatorDesk", "Role"]
