-- Each organization's deal value (docs/widgets.md, "Stored totals"): Σ total_value of its linked
-- deals, kept exact by every write call (customermates/crm/organization_totals.py recomputes the
-- organizations a call touched, with this same expression). The high and low 32 bits of the deal
-- totals are summed apart, so no sum overflows; NULL when the joined value would not fit 63 bits,
-- and the widget then computes from the links. The index serves "deal value by organization": the
-- largest first, and the count and sum of all non-zero values from the index alone.
ALTER TABLE organization ADD COLUMN deal_value INTEGER DEFAULT 0;
UPDATE organization SET deal_value = (
    SELECT CASE WHEN count(*) = 0 THEN 0
        WHEN min(d.total_value) >= 0 AND sum(d.total_value >> 32) < 2147483000
             AND sum(d.total_value & 4294967295) < 1099511627776
        THEN sum(d.total_value >> 32) * 4294967296 + sum(d.total_value & 4294967295) END
    FROM link_organization_deal l CROSS JOIN deal d ON d.id = l.right_id WHERE l.left_id = organization.id
);
CREATE INDEX organization_company_deal_value ON organization(company_id, deal_value DESC, id);
