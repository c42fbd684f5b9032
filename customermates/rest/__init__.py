"""REST routes derived from the tools' declarations: one generic endpoint runs every route.

    Tool(..., rest=(Route(method, path, operation_id, tag, adapters…), …))    route.py
      -> joined with its tool and checked when the registry is built        plan.py
      -> request:  body | wrap(key) | fixed(k=v) | path(id->f) | query  ->  tool arguments   requests.py
      -> Registry.invoke                 (validation, permission, audit: the tool's)
      -> issue paths rewritten to what the caller sent  ($.contacts[0].x -> $.x, path.id, query.page)
      -> output:   as_is | records | single  -> status, Location                          responses.py
      -> one endpoint per route, every failure as the Error object                         endpoints.py
      -> one PathRoute per path (405 + Allow, literal segments before `{id}`)              routing.py

`POST /api/v1/tools/{name}` serves every tool with its MCP arguments as the body, and
`GET /api/v1/openapi` serves the document `openapi.py` builds from the same registry.
This package file imports nothing, so `registry.py` can use `route.py` without a cycle.
"""
