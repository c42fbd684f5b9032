-- Tenants, users, roles, permissions, API keys and the audit log (docs/data-model.md).
-- Every tenant row carries company_id; every lookup on a tenant table leads with it.

CREATE TABLE company (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    street      TEXT,
    city        TEXT,
    postal_code TEXT,
    country     TEXT,
    currency    TEXT NOT NULL DEFAULT 'eur',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE role (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT,
    is_system   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (company_id, name_key)
);

CREATE TABLE role_permission (
    role_id  TEXT NOT NULL REFERENCES role(id) ON DELETE CASCADE,
    resource TEXT NOT NULL,
    action   TEXT NOT NULL,
    PRIMARY KEY (role_id, resource, action)
) WITHOUT ROWID;

CREATE TABLE app_user (
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    email_key   TEXT NOT NULL UNIQUE,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    role_id     TEXT NOT NULL REFERENCES role(id),
    status      TEXT NOT NULL DEFAULT 'active',
    country     TEXT,
    avatar_url  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX app_user_company_name ON app_user(company_id, name_key, id);
CREATE INDEX app_user_role ON app_user(role_id);

CREATE TABLE api_key (
    id           TEXT PRIMARY KEY,
    company_id   TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    read_only    INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT,
    revoked_at   TEXT
);
CREATE UNIQUE INDEX api_key_live_name ON api_key(user_id, name) WHERE revoked_at IS NULL;
CREATE INDEX api_key_user ON api_key(user_id, created_at);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    company_id    TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    occurred_at   TEXT NOT NULL,
    actor_user_id TEXT,
    api_key_id    TEXT,
    source        TEXT NOT NULL,
    operation     TEXT NOT NULL,
    entity_type   TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    event         TEXT NOT NULL,
    changes       TEXT,
    snapshot      TEXT
);
CREATE INDEX audit_log_company_time ON audit_log(company_id, occurred_at);
CREATE INDEX audit_log_company_entity ON audit_log(company_id, entity_id, occurred_at);
