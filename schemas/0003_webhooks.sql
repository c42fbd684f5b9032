-- Webhook subscriptions, the events they are sent, and the durable delivery outbox (docs/webhooks.md).

CREATE TABLE webhook (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    description TEXT,
    events      TEXT NOT NULL,              -- JSON array of event names
    secret      TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX webhook_company ON webhook(company_id, created_at, id);

-- The record after an `.updated` event, which the audit log does not keep. An envelope is put
-- together from the event's audit row (id, time, actor, snapshot or changes) plus this record, so a
-- queued event costs no second copy of its record.
CREATE TABLE webhook_record (
    event_id TEXT PRIMARY KEY,              -- audit_log.id: the envelope id
    record   TEXT NOT NULL
) WITHOUT ROWID;

-- The outbox and the delivery log in one: rows are inserted in the transaction of the change.
-- Keyed by (company, id): ids are UUIDv7, so a company's log in id order is its log in time order,
-- and the creation time is read from the id (no column to write).
-- One index and no foreign keys on purpose: each is paid for by every write that queues deliveries.
CREATE TABLE webhook_delivery (
    company_id       TEXT NOT NULL,
    id               TEXT NOT NULL,
    webhook_id       TEXT NOT NULL,         -- no foreign key: finished rows outlive their webhook
    event_id         TEXT NOT NULL,         -- audit_log.id of the event
    status           TEXT NOT NULL DEFAULT 'pending',  -- pending | processing | success | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    url              TEXT,                  -- of the last attempt
    status_code      INTEGER,
    response_message TEXT,
    response_body    TEXT,
    last_attempt_at  TEXT,
    delivered_at     TEXT,
    resent_from      TEXT,
    due_at           REAL,                  -- unix seconds: pending = next attempt, processing = lease end
    PRIMARY KEY (company_id, id)
) WITHOUT ROWID;
-- The worker's queue: open rows per webhook in order (company_id comes along as part of the key).
CREATE INDEX webhook_delivery_open ON webhook_delivery(webhook_id, id, due_at)
    WHERE status IN ('pending', 'processing');
