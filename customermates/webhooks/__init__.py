"""Outbound webhooks: events derived from audit events, a durable outbox, a signing delivery worker."""
