-- Custom columns: their definitions, single-select options and the values records hold (docs/custom-columns.md).
--
-- custom_column   one typed column of one entity type in one company; `type` and `entity_type` never change.
--                 `options` holds the JSON options of every type except single-select ({} when none).
-- custom_option   the options of a single-select column; `id` is the option `value` uuid the API shows.
--                 `rank` is the option's place in display order (position, then label), kept dense.
-- custom_value    at most one value per (record, column). `value` is the canonical stored string;
--                 `sort_key` is the comparable form of the column's type (case-folded text, money in
--                 1/10,000 units, a date or UTC datetime as fixed-width text, a range's start, an
--                 option's rank) and `end_key` a range's end, so every filter and sort is an index search
--                 over (column_id, sort_key, end_key, record_id).
--
-- Records live in five tables, so the value rows of a deleted record go through the triggers below.
-- Widgets grouped by a column reference custom_column(id) and are removed with it (migration 0006).

CREATE TABLE custom_column (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company_id TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    entity_type TEXT NOT NULL CHECK (entity_type IN ('contact', 'organization', 'deal', 'service', 'task')),
    type TEXT NOT NULL CHECK (type IN ('plain', 'date', 'dateTime', 'dateRange', 'dateTimeRange', 'currency',
                                       'singleSelect', 'link', 'email', 'phone')),
    label TEXT NOT NULL,
    label_key TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX custom_column_company_label ON custom_column(company_id, entity_type, label_key);

CREATE TABLE custom_option (
    id TEXT PRIMARY KEY,
    column_id TEXT NOT NULL REFERENCES custom_column(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    label_key TEXT NOT NULL,
    color TEXT NOT NULL DEFAULT 'default',
    is_default INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL,
    rank INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX custom_option_column_label ON custom_option(column_id, label_key);

CREATE TABLE custom_value (
    record_id TEXT NOT NULL,
    column_id TEXT NOT NULL REFERENCES custom_column(id) ON DELETE CASCADE,
    company_id TEXT NOT NULL,
    value TEXT NOT NULL,
    sort_key NOT NULL,
    end_key TEXT,
    PRIMARY KEY (record_id, column_id)
) WITHOUT ROWID;
CREATE INDEX custom_value_column_key ON custom_value(column_id, sort_key, end_key, record_id);
CREATE INDEX custom_value_column_end ON custom_value(column_id, end_key, record_id) WHERE end_key IS NOT NULL;

CREATE TRIGGER contact_custom_values AFTER DELETE ON contact
BEGIN DELETE FROM custom_value WHERE record_id = old.id; END;
CREATE TRIGGER organization_custom_values AFTER DELETE ON organization
BEGIN DELETE FROM custom_value WHERE record_id = old.id; END;
CREATE TRIGGER deal_custom_values AFTER DELETE ON deal
BEGIN DELETE FROM custom_value WHERE record_id = old.id; END;
CREATE TRIGGER service_custom_values AFTER DELETE ON service
BEGIN DELETE FROM custom_value WHERE record_id = old.id; END;
CREATE TRIGGER task_custom_values AFTER DELETE ON task
BEGIN DELETE FROM custom_value WHERE record_id = old.id; END;
