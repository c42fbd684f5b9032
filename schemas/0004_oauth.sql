-- OAuth 2.1 front door (docs/oauth.md): registered clients, grants, one-time codes and tokens.
-- Clients are not tenant rows: a client registers before anyone signs in. A grant belongs to one user
-- of one company. Codes and tokens are stored only as SHA-256 hashes.

CREATE TABLE oauth_client (
    id            TEXT PRIMARY KEY,           -- the client_id: random, or the https URL of its metadata document
    kind          TEXT NOT NULL,              -- 'registered' (RFC 7591) or 'document' (client id metadata document)
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,              -- JSON array of exact URIs
    auth_method   TEXT NOT NULL DEFAULT 'none',
    secret_hash   TEXT,
    metadata      TEXT NOT NULL,              -- the accepted metadata as JSON
    created_at    TEXT NOT NULL,
    fetched_at    TEXT                        -- when a metadata document was last fetched
);

CREATE TABLE oauth_grant (
    id           TEXT PRIMARY KEY,
    company_id   TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL REFERENCES oauth_client(id) ON DELETE CASCADE,
    api_key_id   TEXT,                        -- the key the person signed in with
    read_only    INTEGER NOT NULL DEFAULT 0,
    resource     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX oauth_grant_user ON oauth_grant(user_id, created_at);

CREATE TABLE oauth_code (
    hash           TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oauth_client(id) ON DELETE CASCADE,
    company_id     TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    api_key_id     TEXT,
    read_only      INTEGER NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    resource       TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    grant_id       TEXT                       -- set when exchanged: a second use revokes this grant
) WITHOUT ROWID;

CREATE TABLE oauth_token (
    hash        TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL REFERENCES oauth_grant(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,                -- 'access' or 'refresh'
    expires_at  TEXT NOT NULL,
    rotated_at  TEXT                          -- refresh tokens: when exchanged; a replay revokes the grant
) WITHOUT ROWID;
CREATE INDEX oauth_token_grant ON oauth_token(grant_id);

-- Audit rows name the OAuth client a change came through (null for API keys and the CLI).
ALTER TABLE audit_log ADD COLUMN oauth_client_id TEXT;
