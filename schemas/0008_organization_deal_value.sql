-- Each organization's deal value (docs/widgets.md, "Stored totals"): Σ total_value of its linked
-- deals, kept exact by every write call (customermates/crm/organization_totals.py recomputes the
-- organizations a call touched). NULL when the sum might pass a 64-bit integer; the widget then
-- computes from the links. The index serves "deal value by organization": the largest first, and
-- the count and sum of all non-zero values from the index alone.
ALTER TABLE organization ADD COLUMN deal_value INTEGER DEFAULT 0;
UPDATE organization SET deal_value = CASE
    WHEN (SELECT total(abs(d.total_value)) FROM link_organization_deal l CROSS JOIN deal d ON d.id = l.right_id
          WHERE l.left_id = organization.id) < 9e18
    THEN (SELECT coalesce(sum(d.total_value), 0) FROM link_organization_deal l CROSS JOIN deal d ON d.id = l.right_id
          WHERE l.left_id = organization.id)
END;
CREATE INDEX organization_company_deal_value ON organization(company_id, deal_value DESC, id);
