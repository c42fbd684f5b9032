"""The texts that teach a model to use this server: `initialize` instructions and the setup prompt.

The README carries the setup prompt verbatim (a test compares them); docs/onboarding.md says why.
"""

INSTRUCTIONS = (
    "customermates is a CRM: contacts (people), organizations (customer companies), deals, services "
    "(products) and tasks, linked many-to-many and assigned to users. Call get_current_user first to "
    "learn your permissions. Ids come from filter_entity, search_all_entities, get_entities and list_* "
    "tools: never invent one or pass a name. Change links with link_entities / unlink_entities (a "
    "relation array on update_* REPLACES all links; null is refused). Discover custom columns with "
    "get_entity_configuration and write values by column id. delete_* is IRREVERSIBLE: get the user's "
    "explicit confirmation first. Batches take 1-100 items, all-or-nothing. Lists are paged (page, "
    "pageSize). More: prompt 'setup', resource customermates://schema."
)

SETUP_PROMPT = """You are connected to customermates, a CRM, through MCP. Work with it like this:

1. **What is stored.** Contacts are people; organizations are customer companies (not our own company,
   see get_company); deals are sales opportunities whose totalValue comes from linked services times
   quantity; services are products with a unit price in the company currency; tasks are to-dos. All of
   them link many-to-many (a contact to organizations, deals and tasks; a deal to organizations,
   contacts, services and tasks; ...), and each can be assigned to users (teammates, from list_users).
   The resource customermates://schema lists every type's fields, relations and custom columns.
2. **Ids.** Get ids from filter_entity, search_all_entities, search, get_entities or the list_* tools.
   Never invent an id and never pass a name where an id is expected.
3. **Relationships.** Add or remove particular links with link_entities / unlink_entities. A relation
   array on an update_* tool REPLACES every link you can see; passing null is rejected (omit the field
   to keep the links).
4. **Custom columns.** Discover them first with get_entity_configuration (or list_custom_columns); write
   values by column id, not label, with update_entity_custom_fields or customFieldValues.
5. **Deleting.** delete_* tools are IRREVERSIBLE: say what will be deleted and get the user's explicit
   confirmation before calling one.
6. **Batches.** Create and update tools take 1-100 items and are all-or-nothing: one invalid item fails
   the whole call and nothing is written. Each error issue names the field path and how to fix it.
7. **Paging.** Lists return items, total, page, pageSize and totalPages; pageSize is 1-100 (default 10).
   Ask for page 2, 3, ... until page reaches totalPages; use count_entity when only a total is needed.
"""
