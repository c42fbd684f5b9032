-- A token per company that changes with every change that can change who an API key's caller is or
-- may do: the key (revoked, expired, read-only, its user), the user (status, role), the role and its
-- permissions. The writer keeps the principal of each key it verified and reuses it while the token
-- it reads in the call's own transaction is the one it kept it under (auth.py `Caller.verify`,
-- docs/benchmarks.md "Writer-side key memo"). Triggers set it, so every writer moves it: the tools,
-- the CLI in another process, plain SQL. Random, like `columns_token` (0011): a rolled-back change
-- leaves a token no committed state ever has. A stamp of `last_used_at` moves nothing.
ALTER TABLE company ADD COLUMN accounts_token INTEGER NOT NULL DEFAULT 0;
UPDATE company SET accounts_token = random();

CREATE TRIGGER api_key_changed AFTER UPDATE OF id, company_id, user_id, hash, read_only, expires_at, revoked_at ON api_key
BEGIN UPDATE company SET accounts_token = random() WHERE id IN (old.company_id, new.company_id); END;
CREATE TRIGGER api_key_removed AFTER DELETE ON api_key
BEGIN UPDATE company SET accounts_token = random() WHERE id = old.company_id; END;

CREATE TRIGGER app_user_changed AFTER UPDATE OF id, company_id, role_id, status ON app_user
BEGIN UPDATE company SET accounts_token = random() WHERE id IN (old.company_id, new.company_id); END;
CREATE TRIGGER app_user_removed AFTER DELETE ON app_user
BEGIN UPDATE company SET accounts_token = random() WHERE id = old.company_id; END;

CREATE TRIGGER role_changed AFTER UPDATE OF id, company_id, name, is_system ON role
BEGIN UPDATE company SET accounts_token = random() WHERE id IN (old.company_id, new.company_id); END;
CREATE TRIGGER role_removed AFTER DELETE ON role
BEGIN UPDATE company SET accounts_token = random() WHERE id = old.company_id; END;

-- A permission's company is its role's; permissions removed with their role find none (the role's
-- own trigger has moved the token).
CREATE TRIGGER role_permission_added AFTER INSERT ON role_permission
BEGIN
    UPDATE company SET accounts_token = random() WHERE id = (SELECT company_id FROM role WHERE id = new.role_id);
END;
CREATE TRIGGER role_permission_changed AFTER UPDATE ON role_permission
BEGIN
    UPDATE company SET accounts_token = random()
    WHERE id IN (SELECT company_id FROM role WHERE id IN (old.role_id, new.role_id));
END;
CREATE TRIGGER role_permission_removed AFTER DELETE ON role_permission
BEGIN
    UPDATE company SET accounts_token = random() WHERE id = (SELECT company_id FROM role WHERE id = old.role_id);
END;
