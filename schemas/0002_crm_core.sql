-- The five CRM entities, their links, contact emails and the search indexes (docs/data-model.md).
-- Money and quantities are integers scaled by 10^4. `seq` is the stable integer key the FTS rows use;
-- `name_key` is the case-folded display name (Python str.casefold) that sorts and ranks.

CREATE TABLE contact (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company_id TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL DEFAULT '',
    last_key TEXT NOT NULL,
    emails TEXT NOT NULL DEFAULT '[]',
    name_key TEXT NOT NULL,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX contact_company_name ON contact(company_id, name_key, id);
CREATE INDEX contact_company_created ON contact(company_id, created_at, id);
CREATE INDEX contact_company_updated ON contact(company_id, updated_at, id);
CREATE INDEX contact_company_last ON contact(company_id, last_key, id);

CREATE TABLE organization (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company_id TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX organization_company_name ON organization(company_id, name_key, id);
CREATE INDEX organization_company_created ON organization(company_id, created_at, id);
CREATE INDEX organization_company_updated ON organization(company_id, updated_at, id);

CREATE TABLE deal (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company_id TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    total_value INTEGER NOT NULL DEFAULT 0,
    total_quantity INTEGER NOT NULL DEFAULT 0,
    name_key TEXT NOT NULL,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX deal_company_name ON deal(company_id, name_key, id);
CREATE INDEX deal_company_created ON deal(company_id, created_at, id);
CREATE INDEX deal_company_updated ON deal(company_id, updated_at, id);
CREATE INDEX deal_company_total_value ON deal(company_id, total_value, id);
CREATE INDEX deal_company_total_quantity ON deal(company_id, total_quantity, id);

CREATE TABLE service (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company_id TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    amount INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX service_company_name ON service(company_id, name_key, id);
CREATE INDEX service_company_created ON service(company_id, created_at, id);
CREATE INDEX service_company_updated ON service(company_id, updated_at, id);
CREATE INDEX service_company_amount ON service(company_id, amount, id);

CREATE TABLE task (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company_id TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'custom',
    name_key TEXT NOT NULL,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX task_company_name ON task(company_id, name_key, id);
CREATE INDEX task_company_created ON task(company_id, created_at, id);
CREATE INDEX task_company_updated ON task(company_id, updated_at, id);
CREATE INDEX task_company_type ON task(company_id, type, id);

CREATE TABLE contact_email (
    contact_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    company_id TEXT NOT NULL,
    email_key TEXT NOT NULL,
    PRIMARY KEY (contact_id, position)
) WITHOUT ROWID;
CREATE INDEX contact_email_company_key ON contact_email(company_id, email_key, contact_id);

-- One table per allowed pair (13): left_id is the first type, right_id the second. Unique (left, right)
-- and an index on (right, left) make both directions index searches; deleting either end cascades.
CREATE TABLE link_contact_organization (
    left_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_contact_organization_right ON link_contact_organization(right_id, left_id);
CREATE TABLE link_contact_deal (
    left_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES deal(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_contact_deal_right ON link_contact_deal(right_id, left_id);
CREATE TABLE link_contact_task (
    left_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_contact_task_right ON link_contact_task(right_id, left_id);
CREATE TABLE link_organization_deal (
    left_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES deal(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_organization_deal_right ON link_organization_deal(right_id, left_id);
CREATE TABLE link_organization_task (
    left_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_organization_task_right ON link_organization_task(right_id, left_id);
CREATE TABLE link_deal_service (
    left_id TEXT NOT NULL REFERENCES deal(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES service(id) ON DELETE CASCADE,
    quantity INTEGER NOT NULL DEFAULT 10000,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_deal_service_right ON link_deal_service(right_id, left_id);
CREATE TABLE link_deal_task (
    left_id TEXT NOT NULL REFERENCES deal(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_deal_task_right ON link_deal_task(right_id, left_id);
CREATE TABLE link_service_task (
    left_id TEXT NOT NULL REFERENCES service(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_service_task_right ON link_service_task(right_id, left_id);
CREATE TABLE link_contact_user (
    left_id TEXT NOT NULL REFERENCES contact(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_contact_user_right ON link_contact_user(right_id, left_id);
CREATE TABLE link_organization_user (
    left_id TEXT NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_organization_user_right ON link_organization_user(right_id, left_id);
CREATE TABLE link_deal_user (
    left_id TEXT NOT NULL REFERENCES deal(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_deal_user_right ON link_deal_user(right_id, left_id);
CREATE TABLE link_service_user (
    left_id TEXT NOT NULL REFERENCES service(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_service_user_right ON link_service_user(right_id, left_id);
CREATE TABLE link_task_user (
    left_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
    right_id TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    PRIMARY KEY (left_id, right_id)
) WITHOUT ROWID;
CREATE INDEX link_task_user_right ON link_task_user(right_id, left_id);

-- Search (docs/query-language.md): per entity a trigram table (substrings of 3+ characters, case-insensitive)
-- and a word-prefix table (tokens of 1-2 characters). rowid = the entity's seq; `body` holds every
-- searchable field, one per line, derived names included. Kept in sync by the writing transaction.
CREATE VIRTUAL TABLE contact_trigram USING fts5(body, tokenize = 'trigram');
CREATE VIRTUAL TABLE contact_words USING fts5(body, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none');
CREATE VIRTUAL TABLE organization_trigram USING fts5(body, tokenize = 'trigram');
CREATE VIRTUAL TABLE organization_words USING fts5(body, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none');
CREATE VIRTUAL TABLE deal_trigram USING fts5(body, tokenize = 'trigram');
CREATE VIRTUAL TABLE deal_words USING fts5(body, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none');
CREATE VIRTUAL TABLE service_trigram USING fts5(body, tokenize = 'trigram');
CREATE VIRTUAL TABLE service_words USING fts5(body, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none');
CREATE VIRTUAL TABLE task_trigram USING fts5(body, tokenize = 'trigram');
CREATE VIRTUAL TABLE task_words USING fts5(body, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none');
