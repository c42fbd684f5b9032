-- Each entity's user links again, keyed by the user and the record's creation time: "assigned to these
-- users, created in this window" (filters userIds `in` + createdAt, and a readOwn caller's createdAt
-- rules) reads its matches as one index range instead of looking up every record the users hold
-- (docs/query-language.md, "Assigned and created"). A record's created_at never changes; triggers keep
-- the copy exact on every path (tools, undo, the CLI): a link added or removed, a record removed (before
-- its links cascade away: by then a link's trigger no longer finds the record), a stamp rewritten.

CREATE TABLE contact_user_created (
    right_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    left_id TEXT NOT NULL,
    PRIMARY KEY (right_id, created_at, left_id)
) WITHOUT ROWID;
INSERT INTO contact_user_created
SELECT l.right_id, e.created_at, l.left_id FROM link_contact_user l JOIN contact e ON e.id = l.left_id;
CREATE TRIGGER contact_user_created_linked AFTER INSERT ON link_contact_user
BEGIN
    INSERT OR IGNORE INTO contact_user_created SELECT new.right_id, created_at, new.left_id FROM contact WHERE id = new.left_id;
END;
CREATE TRIGGER contact_user_created_unlinked AFTER DELETE ON link_contact_user
BEGIN
    DELETE FROM contact_user_created WHERE right_id = old.right_id AND left_id = old.left_id
        AND created_at = (SELECT created_at FROM contact WHERE id = old.left_id);
END;
CREATE TRIGGER contact_user_created_removed BEFORE DELETE ON contact
BEGIN
    DELETE FROM contact_user_created WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_contact_user WHERE left_id = old.id);
END;
CREATE TRIGGER contact_user_created_restamped AFTER UPDATE OF created_at ON contact
BEGIN
    UPDATE contact_user_created SET created_at = new.created_at WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_contact_user WHERE left_id = old.id);
END;

CREATE TABLE organization_user_created (
    right_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    left_id TEXT NOT NULL,
    PRIMARY KEY (right_id, created_at, left_id)
) WITHOUT ROWID;
INSERT INTO organization_user_created
SELECT l.right_id, e.created_at, l.left_id FROM link_organization_user l JOIN organization e ON e.id = l.left_id;
CREATE TRIGGER organization_user_created_linked AFTER INSERT ON link_organization_user
BEGIN
    INSERT OR IGNORE INTO organization_user_created SELECT new.right_id, created_at, new.left_id FROM organization WHERE id = new.left_id;
END;
CREATE TRIGGER organization_user_created_unlinked AFTER DELETE ON link_organization_user
BEGIN
    DELETE FROM organization_user_created WHERE right_id = old.right_id AND left_id = old.left_id
        AND created_at = (SELECT created_at FROM organization WHERE id = old.left_id);
END;
CREATE TRIGGER organization_user_created_removed BEFORE DELETE ON organization
BEGIN
    DELETE FROM organization_user_created WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_organization_user WHERE left_id = old.id);
END;
CREATE TRIGGER organization_user_created_restamped AFTER UPDATE OF created_at ON organization
BEGIN
    UPDATE organization_user_created SET created_at = new.created_at WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_organization_user WHERE left_id = old.id);
END;

CREATE TABLE deal_user_created (
    right_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    left_id TEXT NOT NULL,
    PRIMARY KEY (right_id, created_at, left_id)
) WITHOUT ROWID;
INSERT INTO deal_user_created
SELECT l.right_id, e.created_at, l.left_id FROM link_deal_user l JOIN deal e ON e.id = l.left_id;
CREATE TRIGGER deal_user_created_linked AFTER INSERT ON link_deal_user
BEGIN
    INSERT OR IGNORE INTO deal_user_created SELECT new.right_id, created_at, new.left_id FROM deal WHERE id = new.left_id;
END;
CREATE TRIGGER deal_user_created_unlinked AFTER DELETE ON link_deal_user
BEGIN
    DELETE FROM deal_user_created WHERE right_id = old.right_id AND left_id = old.left_id
        AND created_at = (SELECT created_at FROM deal WHERE id = old.left_id);
END;
CREATE TRIGGER deal_user_created_removed BEFORE DELETE ON deal
BEGIN
    DELETE FROM deal_user_created WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_deal_user WHERE left_id = old.id);
END;
CREATE TRIGGER deal_user_created_restamped AFTER UPDATE OF created_at ON deal
BEGIN
    UPDATE deal_user_created SET created_at = new.created_at WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_deal_user WHERE left_id = old.id);
END;

CREATE TABLE service_user_created (
    right_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    left_id TEXT NOT NULL,
    PRIMARY KEY (right_id, created_at, left_id)
) WITHOUT ROWID;
INSERT INTO service_user_created
SELECT l.right_id, e.created_at, l.left_id FROM link_service_user l JOIN service e ON e.id = l.left_id;
CREATE TRIGGER service_user_created_linked AFTER INSERT ON link_service_user
BEGIN
    INSERT OR IGNORE INTO service_user_created SELECT new.right_id, created_at, new.left_id FROM service WHERE id = new.left_id;
END;
CREATE TRIGGER service_user_created_unlinked AFTER DELETE ON link_service_user
BEGIN
    DELETE FROM service_user_created WHERE right_id = old.right_id AND left_id = old.left_id
        AND created_at = (SELECT created_at FROM service WHERE id = old.left_id);
END;
CREATE TRIGGER service_user_created_removed BEFORE DELETE ON service
BEGIN
    DELETE FROM service_user_created WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_service_user WHERE left_id = old.id);
END;
CREATE TRIGGER service_user_created_restamped AFTER UPDATE OF created_at ON service
BEGIN
    UPDATE service_user_created SET created_at = new.created_at WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_service_user WHERE left_id = old.id);
END;

CREATE TABLE task_user_created (
    right_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    left_id TEXT NOT NULL,
    PRIMARY KEY (right_id, created_at, left_id)
) WITHOUT ROWID;
INSERT INTO task_user_created
SELECT l.right_id, e.created_at, l.left_id FROM link_task_user l JOIN task e ON e.id = l.left_id;
CREATE TRIGGER task_user_created_linked AFTER INSERT ON link_task_user
BEGIN
    INSERT OR IGNORE INTO task_user_created SELECT new.right_id, created_at, new.left_id FROM task WHERE id = new.left_id;
END;
CREATE TRIGGER task_user_created_unlinked AFTER DELETE ON link_task_user
BEGIN
    DELETE FROM task_user_created WHERE right_id = old.right_id AND left_id = old.left_id
        AND created_at = (SELECT created_at FROM task WHERE id = old.left_id);
END;
CREATE TRIGGER task_user_created_removed BEFORE DELETE ON task
BEGIN
    DELETE FROM task_user_created WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_task_user WHERE left_id = old.id);
END;
CREATE TRIGGER task_user_created_restamped AFTER UPDATE OF created_at ON task
BEGIN
    UPDATE task_user_created SET created_at = new.created_at WHERE created_at = old.created_at AND left_id = old.id
        AND right_id IN (SELECT right_id FROM link_task_user WHERE left_id = old.id);
END;
