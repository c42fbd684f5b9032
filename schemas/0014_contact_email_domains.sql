-- Contacts by the domains of their email addresses: a search token that starts with '@' ("@acme")
-- reads one index range here instead of an FTS5 phrase whose first trigrams ("@ac" aside, every
-- address shares ".co", "com"...) are in nearly every search row (docs/query-language.md, "Search").
-- An address is kept under its part after '@' in lower case when that part is all ASCII: there the
-- trigram index folds exactly as lower() does. The rows this index alone cannot decide are kept
-- under '' and checked against their search row: a domain holding another character (folding beyond
-- ASCII is the search index's own), and a name holding '@'. Triggers keep it exact on every path (tools, undo,
-- the CLI): a contact added, its addresses or name rewritten, a contact removed.

CREATE TABLE contact_domain (
    num INTEGER NOT NULL,
    domain TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (num, domain, seq)
) WITHOUT ROWID;

INSERT OR IGNORE INTO contact_domain
WITH m AS (SELECT e.company_id, e.seq, substr(j.value, instr(j.value, '@') + 1) AS d FROM contact e, json_each(e.emails) j)
SELECT s.num, CASE WHEN length(CAST(m.d AS BLOB)) = length(m.d) THEN lower(m.d) ELSE '' END, m.seq
FROM m JOIN search_company s ON s.company_id = m.company_id;
INSERT OR IGNORE INTO contact_domain
SELECT s.num, '', e.seq FROM contact e JOIN search_company s ON s.company_id = e.company_id
WHERE instr(e.first_name || ' ' || e.last_name, '@') > 0;

CREATE TRIGGER contact_domain_added AFTER INSERT ON contact
BEGIN
    INSERT OR IGNORE INTO contact_domain
    SELECT s.num, CASE WHEN length(CAST(m.d AS BLOB)) = length(m.d) THEN lower(m.d) ELSE '' END, new.seq
    FROM search_company s, (SELECT substr(value, instr(value, '@') + 1) AS d FROM json_each(new.emails)) m
    WHERE s.company_id = new.company_id
    UNION ALL
    SELECT s.num, '', new.seq FROM search_company s
    WHERE s.company_id = new.company_id AND instr(new.first_name || ' ' || new.last_name, '@') > 0;
END;
CREATE TRIGGER contact_domain_rewritten AFTER UPDATE OF emails, first_name, last_name ON contact
BEGIN
    DELETE FROM contact_domain WHERE num = (SELECT num FROM search_company WHERE company_id = old.company_id)
        AND seq = old.seq AND domain IN (SELECT lower(substr(value, instr(value, '@') + 1)) FROM json_each(old.emails)
                                         UNION ALL SELECT '');
    INSERT OR IGNORE INTO contact_domain
    SELECT s.num, CASE WHEN length(CAST(m.d AS BLOB)) = length(m.d) THEN lower(m.d) ELSE '' END, new.seq
    FROM search_company s, (SELECT substr(value, instr(value, '@') + 1) AS d FROM json_each(new.emails)) m
    WHERE s.company_id = new.company_id
    UNION ALL
    SELECT s.num, '', new.seq FROM search_company s
    WHERE s.company_id = new.company_id AND instr(new.first_name || ' ' || new.last_name, '@') > 0;
END;
CREATE TRIGGER contact_domain_removed AFTER DELETE ON contact
BEGIN
    DELETE FROM contact_domain WHERE num = (SELECT num FROM search_company WHERE company_id = old.company_id)
        AND seq = old.seq AND domain IN (SELECT lower(substr(value, instr(value, '@') + 1)) FROM json_each(old.emails)
                                         UNION ALL SELECT '');
END;
