"""The texts that teach a model to use this server: `initialize` instructions and the setup prompt."""

INSTRUCTIONS = (
    "customermates is a CRM. It holds contacts (people), organizations (customer companies), deals "
    "(opportunities whose value comes from linked services), services (products with a unit price) and "
    "tasks, linked many-to-many, plus users (teammates). Call get_current_user first to learn your "
    "permissions. Ids come from filter_entity, search_all_entities and list_* tools: never invent one or "
    "pass a name. Change relationships with link_entities / unlink_entities; relation arrays on update_* "
    "REPLACE all links and null is refused. Discover custom columns with get_entity_configuration and "
    "write values by column id. delete_* is IRREVERSIBLE: get the user's explicit confirmation first. "
    "Batches take 1-100 items and are all-or-nothing. Lists are paged with page and pageSize (1-100, default 10)."
)

SETUP_PROMPT = """You are connected to customermates, a CRM, through MCP. Work with it like this:

1. **What is stored.** Contacts are people; organizations are customer companies (not our own company,
   see get_company); deals are sales opportunities whose totalValue comes from linked services times
   quantity; services are products with a unit price in the company currency; tasks are to-dos. All of
   them link many-to-many, and each can be assigned to users (teammates, from list_users).
2. **Ids.** Get ids from filter_entity, search_all_entities, get_entities or list_* tools. Never invent
   an id and never pass a name where an id is expected.
3. **Relationships.** Add or remove particular links with link_entities / unlink_entities. A relation
   array on an update_* tool REPLACES every link you can see; passing null is rejected.
4. **Custom columns.** Call get_entity_configuration (or list_custom_columns) first; write values by
   column id with update_entity_custom_fields or customFieldValues.
5. **Deleting.** delete_* tools are IRREVERSIBLE: name what will be deleted and get the user's explicit
   confirmation before calling them.
6. **Batches.** Create and update tools take 1-100 items; one invalid item fails the whole call and
   nothing is written. Read the error's issues: each names the field path and how to fix it.
7. **Paging.** Lists return items, total, page, pageSize and totalPages; pageSize is 1-100 (default 10).
   Use count_entity for totals instead of paging through everything.
"""
