-- Dashboard widgets (docs/widgets.md): a saved chart definition per row; its data is computed on read
-- and never stored. Filters and display options are JSON text exactly as the tools return them.
-- delete_custom_column removes the widgets grouped by the column first (with their audit events);
-- the foreign key keeps that true for any other path.

CREATE TABLE widget (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company_id TEXT NOT NULL REFERENCES company(id) ON DELETE CASCADE,
    owner_id TEXT NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_filters TEXT NOT NULL DEFAULT '[]',
    deal_filters TEXT NOT NULL DEFAULT '[]',
    group_by_type TEXT NOT NULL,
    group_by_column_id TEXT REFERENCES custom_column(id) ON DELETE CASCADE,
    aggregation_type TEXT NOT NULL,
    display_options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- list_widgets: the caller's own, newest first.
CREATE INDEX widget_company_owner_created ON widget(company_id, owner_id, created_at, id);
-- Deleting a custom column finds the widgets grouped by it.
CREATE INDEX widget_company_group_column ON widget(company_id, group_by_column_id)
    WHERE group_by_column_id IS NOT NULL;
-- Deal aggregations lead with the company's deals in id order and probe each deal's links in that
-- order; this index covers the walk and the value (and a deal's look-up by company and id).
CREATE INDEX deal_company_id_value ON deal(company_id, id, total_value);
-- Service deal value and quantity read each service's links with their quantity from the index alone.
CREATE INDEX link_deal_service_right_quantity ON link_deal_service(right_id, left_id, quantity);
