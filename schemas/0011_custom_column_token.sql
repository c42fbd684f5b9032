-- A token per company that changes with every change to its custom columns or their options, so a
-- process may keep the columns it parsed and reuse them while the token it reads in its own
-- transaction is the one it kept them under (crm/columns.py, docs/benchmarks.md "Create path").
-- Triggers set it, so every writer moves it: the tools, undo, the CLI in another process. It is
-- random rather than a counter: a rolled-back change leaves a token no committed state ever has, and
-- a copied file carries its columns and their token together.
ALTER TABLE company ADD COLUMN columns_token INTEGER NOT NULL DEFAULT 0;
UPDATE company SET columns_token = random();

CREATE TRIGGER custom_column_added AFTER INSERT ON custom_column
BEGIN UPDATE company SET columns_token = random() WHERE id = new.company_id; END;
CREATE TRIGGER custom_column_changed AFTER UPDATE ON custom_column
BEGIN UPDATE company SET columns_token = random() WHERE id IN (old.company_id, new.company_id); END;
CREATE TRIGGER custom_column_removed AFTER DELETE ON custom_column
BEGIN UPDATE company SET columns_token = random() WHERE id = old.company_id; END;

-- An option's company is its column's; an option removed with its column finds none (the column's
-- own trigger has moved the token).
CREATE TRIGGER custom_option_added AFTER INSERT ON custom_option
BEGIN
    UPDATE company SET columns_token = random()
    WHERE id = (SELECT company_id FROM custom_column WHERE id = new.column_id);
END;
CREATE TRIGGER custom_option_changed AFTER UPDATE ON custom_option
BEGIN
    UPDATE company SET columns_token = random()
    WHERE id IN (SELECT company_id FROM custom_column WHERE id IN (old.column_id, new.column_id));
END;
CREATE TRIGGER custom_option_removed AFTER DELETE ON custom_option
BEGIN
    UPDATE company SET columns_token = random()
    WHERE id = (SELECT company_id FROM custom_column WHERE id = old.column_id);
END;
