"""Inbound e-mail parsing: raw MIME bytes to clean ticket data (pure functions, no AWS, no I/O).

`parse` (MIME to `ParsedMail`), `text` (HTML to text, quoted replies and signatures) and `threading`
(ticket tokens) are imported one by one: the triage model needs only `text.split_reply`, and its cold
start should not pay for the MIME parser.
"""
