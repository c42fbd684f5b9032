-- Undo of recorded changes (docs/undo.md): an event written by an undo names the event it takes back
-- (`undo_of`); the event taken back names the undoing event (`undone_by`), so "is it undone?" is one
-- lookup either way.
ALTER TABLE audit_log ADD COLUMN undo_of TEXT;
ALTER TABLE audit_log ADD COLUMN undone_by TEXT;
CREATE INDEX audit_log_undo_of ON audit_log(undo_of) WHERE undo_of IS NOT NULL;
-- The change feed: newest first per company, optionally per acting user or key.
CREATE INDEX audit_log_company_actor ON audit_log(company_id, actor_user_id, occurred_at);
CREATE INDEX audit_log_company_key ON audit_log(company_id, api_key_id, occurred_at);
