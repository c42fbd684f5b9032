-- Search rows hold a record's OWN searchable fields only (docs/query-language.md, "Search"). The names
-- of linked records (a contact's organizations, an organization's contacts) are matched at read time
-- through the link table, so linking or unlinking writes no search row and a rename rewrites only the
-- renamed record's row. A contact's row has two columns, so its name can be matched on its own (an
-- organization is found through its contacts' names, never their emails). columnsize=0: no ranking
-- reads column sizes. contact_words keeps detail=column, which the `{name}:` filter needs. `emails`
-- comes first: column 0 needs no column marker in a position list, and the trigrams every address
-- shares (`@do`, `dom`, `ain` in the benchmark) have the longest lists (S4: ~5 % less to read).
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

-- The rows of existing records (model.SEARCH_COLUMNS writes the same text).
INSERT INTO contact_trigram (rowid, emails, name)
SELECT seq, coalesce((SELECT group_concat(value, char(10)) FROM json_each(emails)), ''),
       first_name || ' ' || last_name FROM contact;
INSERT INTO contact_words (rowid, emails, name) SELECT rowid, emails, name FROM contact_trigram;
INSERT INTO organization_trigram (rowid, name) SELECT seq, name FROM organization;
INSERT INTO organization_words (rowid, name) SELECT seq, name FROM organization;
INSERT INTO deal_trigram (rowid, name) SELECT seq, name FROM deal;
INSERT INTO deal_words (rowid, name) SELECT seq, name FROM deal;
INSERT INTO service_trigram (rowid, name) SELECT seq, name FROM service;
INSERT INTO service_words (rowid, name) SELECT seq, name FROM service;
INSERT INTO task_trigram (rowid, name) SELECT seq, name FROM task;
INSERT INTO task_words (rowid, name) SELECT seq, name FROM task;

-- Contact-organization links by `seq` (the FTS rowids), for matching linked names: the search walks
-- from an FTS match to the records linked to it by integer keys, with no lookup of an id per match.
-- Kept by triggers on the link table, so every path that links or unlinks (tools, undo, the CLI)
-- keeps it; a deleted record's rows go by cascade.
CREATE TABLE search_contact_organization (
    organization_seq INTEGER NOT NULL REFERENCES organization(seq) ON DELETE CASCADE,
    contact_seq INTEGER NOT NULL REFERENCES contact(seq) ON DELETE CASCADE,
    PRIMARY KEY (organization_seq, contact_seq)
) WITHOUT ROWID;
CREATE INDEX search_contact_organization_contact ON search_contact_organization(contact_seq, organization_seq);
INSERT INTO search_contact_organization
SELECT o.seq, c.seq FROM link_contact_organization l
JOIN contact c ON c.id = l.left_id JOIN organization o ON o.id = l.right_id;
CREATE TRIGGER link_contact_organization_searched AFTER INSERT ON link_contact_organization
BEGIN
    INSERT OR IGNORE INTO search_contact_organization
    SELECT o.seq, c.seq FROM organization o, contact c WHERE o.id = new.right_id AND c.id = new.left_id;
END;
CREATE TRIGGER link_contact_organization_unsearched AFTER DELETE ON link_contact_organization
BEGIN
    DELETE FROM search_contact_organization
    WHERE organization_seq = (SELECT seq FROM organization WHERE id = old.right_id)
      AND contact_seq = (SELECT seq FROM contact WHERE id = old.left_id);
END;
