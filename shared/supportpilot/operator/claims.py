"""The caller, from the claims API Gateway's Cognito authorizer puts in `requestContext.authorizer.claims`."""

import re
from collections.abc import Mapping
from typing import Any

from supportpilot.operator.models import Operator, Role
from supportpilot.operator.service import NotAuthenticated

ROLE_OF_GROUP = {"agent": Role.AGENT, "supervisor": Role.SUPERVISOR, "admin": Role.ADMIN}


def parse_groups(value: Any) -> set[str]:
    """`cognito:groups` arrives as a list, as "[agent supervisor]" (REST API) or as "agent,supervisor"."""
    if isinstance(value, list):
        return {str(group).strip() for group in value if str(group).strip()}
    if isinstance(value, str):
        return {group for group in re.split(r"[\s,]+", value.strip().strip("[]")) if group}
    return set()


def operator_from_claims(claims: Mapping[str, Any] | None) -> Operator:
    subject = (claims or {}).get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise NotAuthenticated("Unauthorized")
    groups = parse_groups((claims or {}).get("cognito:groups"))
    return Operator(id=subject.strip(), roles=frozenset(ROLE_OF_GROUP[g] for g in groups if g in ROLE_OF_GROUP))
