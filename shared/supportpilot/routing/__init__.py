"""Routing: where a triaged ticket goes, how urgent it is, and how much the machine may do about it.

`decide(triage, profile, policy, now)` is the pure policy engine; `PolicySource` holds the policy in
force (the packaged default or a validated override); `validate_policy` checks a policy document.
"""

from supportpilot.routing.engine import decide
from supportpilot.routing.policy import PolicyInvalid, RoutingPolicy, default_policy, validate_policy
from supportpilot.routing.source import (
    PolicyOverrides,
    PolicyOverrideUnavailable,
    PolicyProblem,
    PolicySource,
    log_policy_problem,
)

__all__ = [
    "PolicyInvalid",
    "PolicyOverrideUnavailable",
    "PolicyOverrides",
    "PolicyProblem",
    "PolicySource",
    "RoutingPolicy",
    "decide",
    "default_policy",
    "log_policy_problem",
    "validate_policy",
]
