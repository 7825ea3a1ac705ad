"""The operator's desk: the domain behind the operator API (queue, ticket detail, decisions, roles).

`models` (operators, roles, request and response bodies) and `service` (`OperatorDesk` and its errors) are
imported one by one: the classify stage needs the label models only, not the desk.
"""
