"""Loopback HTTP emulators of the SaaS APIs the pipelines read, serving the sandbox world (sandbox/WORLD.md).

- `server`: run them (`serve`, blocking; `start_background_thread` for tests).
- `shopify`: the Shopify Admin GraphQL app (`create_app`), with its parts: `shopify_schema` (the vendored real
  schema), `shopify_world` (the world at the clock, indexed), `shopify_resolvers`, `shopify_paging` (cursors),
  `shopify_search` (the `query:` syntax), `shopify_errors` (Shopify-worded validation errors).
- `fast_execution`: a faster graphql-core execution context for dict-shaped results; `stats`: request counters.
"""
