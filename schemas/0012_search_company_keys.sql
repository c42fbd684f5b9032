-- Search rows are keyed by company: rowid = (company number << 40) | the record's seq
-- (docs/query-language.md, "Search"). A company's rows are then one rowid range, which FTS5 seeks
-- into, so a search counts a company's matches from the index alone, with no lookup of each match's
-- record for its company. Numbers are never reused (AUTOINCREMENT), so no row of a company that
-- once was can fall into another's range. Links keep joining by `seq` (rowid & 0xFFFFFFFFFF).
CREATE TABLE search_company (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id TEXT NOT NULL UNIQUE REFERENCES company(id) ON DELETE CASCADE
);
INSERT INTO search_company (company_id) SELECT id FROM company ORDER BY created_at, id;
CREATE TRIGGER company_search_number AFTER INSERT ON company
BEGIN
    INSERT INTO search_company (company_id) VALUES (new.id);
END;

DROP TABLE contact_trigram;
DROP TABLE contact_words;
DROP TABLE organization_trigram;
DROP TABLE organization_words;
DROP TABLE deal_trigram;
DROP TABLE deal_words;
DROP TABLE service_trigram;
DROP TABLE service_words;
DROP TABLE task_trigram;
DROP TABLE task_words;
CREATE VIRTUAL TABLE contact_trigram USING fts5(emails, name, tokenize = 'trigram', columnsize = 0);
CREATE VIRTUAL TABLE contact_words USING fts5(emails, name, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'column', columnsize = 0);
CREATE VIRTUAL TABLE organization_trigram USING fts5(name, tokenize = 'trigram', columnsize = 0);
CREATE VIRTUAL TABLE organization_words USING fts5(name, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none', columnsize = 0);
CREATE VIRTUAL TABLE deal_trigram USING fts5(name, tokenize = 'trigram', columnsize = 0);
CREATE VIRTUAL TABLE deal_words USING fts5(name, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none', columnsize = 0);
CREATE VIRTUAL TABLE service_trigram USING fts5(name, tokenize = 'trigram', columnsize = 0);
CREATE VIRTUAL TABLE service_words USING fts5(name, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none', columnsize = 0);
CREATE VIRTUAL TABLE task_trigram USING fts5(name, tokenize = 'trigram', columnsize = 0);
CREATE VIRTUAL TABLE task_words USING fts5(name, tokenize = 'unicode61 remove_diacritics 0', prefix = '1 2', detail = 'none', columnsize = 0);

-- The rows of existing records (model.search_insert_sql writes the same key and text).
INSERT INTO contact_trigram (rowid, emails, name)
SELECT (s.num << 40) | e.seq, coalesce((SELECT group_concat(value, char(10)) FROM json_each(e.emails)), ''),
       e.first_name || ' ' || e.last_name FROM contact e JOIN search_company s ON s.company_id = e.company_id
ORDER BY 1;
INSERT INTO contact_words (rowid, emails, name) SELECT rowid, emails, name FROM contact_trigram;
INSERT INTO organization_trigram (rowid, name)
SELECT (s.num << 40) | e.seq, e.name FROM organization e JOIN search_company s ON s.company_id = e.company_id ORDER BY 1;
INSERT INTO organization_words (rowid, name) SELECT rowid, name FROM organization_trigram;
INSERT INTO deal_trigram (rowid, name)
SELECT (s.num << 40) | e.seq, e.name FROM deal e JOIN search_company s ON s.company_id = e.company_id ORDER BY 1;
INSERT INTO deal_words (rowid, name) SELECT rowid, name FROM deal_trigram;
INSERT INTO service_trigram (rowid, name)
SELECT (s.num << 40) | e.seq, e.name FROM service e JOIN search_company s ON s.company_id = e.company_id ORDER BY 1;
INSERT INTO service_words (rowid, name) SELECT rowid, name FROM service_trigram;
INSERT INTO task_trigram (rowid, name)
SELECT (s.num << 40) | e.seq, e.name FROM task e JOIN search_company s ON s.company_id = e.company_id ORDER BY 1;
INSERT INTO task_words (rowid, name) SELECT rowid, name FROM task_trigram;
