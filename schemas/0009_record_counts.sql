-- Live record counts per company and record type (docs/query-language.md, "Totals"): the total of a
-- query without filters or search is this row, not a count over the company's index (~0.1 s per
-- million records). Kept exact by triggers in the writing transaction itself, so a reader's snapshot
-- sees the count of the records it sees; a company's rows go with it.
CREATE TABLE record_count (
    company_id TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    entity_type TEXT NOT NULL,
    live INTEGER NOT NULL,
    PRIMARY KEY (company_id, entity_type)
) WITHOUT ROWID;

INSERT INTO record_count SELECT company_id, 'contact', count(*) FROM contact GROUP BY company_id;
INSERT INTO record_count SELECT company_id, 'organization', count(*) FROM organization GROUP BY company_id;
INSERT INTO record_count SELECT company_id, 'deal', count(*) FROM deal GROUP BY company_id;
INSERT INTO record_count SELECT company_id, 'service', count(*) FROM service GROUP BY company_id;
INSERT INTO record_count SELECT company_id, 'task', count(*) FROM task GROUP BY company_id;

CREATE TRIGGER contact_counted AFTER INSERT ON contact
BEGIN
    INSERT INTO record_count VALUES (new.company_id, 'contact', 1)
    ON CONFLICT (company_id, entity_type) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER contact_uncounted AFTER DELETE ON contact
BEGIN
    UPDATE record_count SET live = live - 1 WHERE company_id = old.company_id AND entity_type = 'contact';
END;
CREATE TRIGGER organization_counted AFTER INSERT ON organization
BEGIN
    INSERT INTO record_count VALUES (new.company_id, 'organization', 1)
    ON CONFLICT (company_id, entity_type) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER organization_uncounted AFTER DELETE ON organization
BEGIN
    UPDATE record_count SET live = live - 1 WHERE company_id = old.company_id AND entity_type = 'organization';
END;
CREATE TRIGGER deal_counted AFTER INSERT ON deal
BEGIN
    INSERT INTO record_count VALUES (new.company_id, 'deal', 1)
    ON CONFLICT (company_id, entity_type) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER deal_uncounted AFTER DELETE ON deal
BEGIN
    UPDATE record_count SET live = live - 1 WHERE company_id = old.company_id AND entity_type = 'deal';
END;
CREATE TRIGGER service_counted AFTER INSERT ON service
BEGIN
    INSERT INTO record_count VALUES (new.company_id, 'service', 1)
    ON CONFLICT (company_id, entity_type) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER service_uncounted AFTER DELETE ON service
BEGIN
    UPDATE record_count SET live = live - 1 WHERE company_id = old.company_id AND entity_type = 'service';
END;
CREATE TRIGGER task_counted AFTER INSERT ON task
BEGIN
    INSERT INTO record_count VALUES (new.company_id, 'task', 1)
    ON CONFLICT (company_id, entity_type) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER task_uncounted AFTER DELETE ON task
BEGIN
    UPDATE record_count SET live = live - 1 WHERE company_id = old.company_id AND entity_type = 'task';
END;

-- A contact looked up by id from a link (organizationIds, userIds, ... filters lead with the linked
-- ids) finds its scope, stamps and name key in this one index: a query led by 15,000 links reads no
-- table row until its page of 25 is chosen (docs/query-language.md, "Totals").
CREATE INDEX contact_id_scope ON contact(id, company_id, created_at, updated_at, name_key);
