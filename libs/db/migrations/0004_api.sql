-- Read paths of the api (status page and /api/v1). Only indexes whose columns
-- their writers never update in place, so the probers' frequent updates of
-- checks (state, last_*) stay HOT and cost nothing extra.

-- The public list in display order (ungrouped last, then by display name):
-- a page is a short index walk instead of a sort of every published check.
CREATE INDEX checks_public_order ON vigil.checks (
  (nullif(group_name, '')),
  (coalesce(nullif(display_name, ''), name)),
  namespace,
  name
) WHERE publish;

-- The status page's latest events across all checks.
CREATE INDEX transitions_recent ON vigil.transitions (at DESC, id DESC);

-- Delivery logs are listed per namespace (and check) through their transition.
CREATE INDEX transitions_namespace_name ON vigil.transitions (namespace, name);
