-- The api shows only the newest row of a check deleted and re-created under
-- the same name (two rows exist briefly). Deciding that per request was an
-- anti-join over every check (NOT EXISTS a newer row with the same
-- namespace/name): 8-30 ms of every uncached /api/v1/checks and /summary at
-- 10,000 checks (bench/api/RESULTS.md). The flag is kept here instead, on the
-- rare writes that can change it: inserts and deletes of checks (one
-- set-based statement per statement) and the rare rename of a row.
-- Probers' updates of state and last_* do not touch it and stay HOT.

ALTER TABLE vigil.checks ADD COLUMN superseded boolean NOT NULL DEFAULT false;

-- Re-decides the newest row (latest created_at, then uid) of each given name.
CREATE FUNCTION vigil.settle_superseded_checks(namespaces text[], names text[]) RETURNS void
LANGUAGE sql AS $$
  UPDATE vigil.checks c SET superseded = s.superseded
  FROM (
    SELECT k.uid, k.uid IS DISTINCT FROM first_value(k.uid) OVER (PARTITION BY k.namespace, k.name ORDER BY k.created_at DESC, k.uid DESC) AS superseded
    FROM vigil.checks k
    WHERE (k.namespace, k.name) IN (SELECT n.namespace, n.name FROM unnest(namespaces, names) AS n(namespace, name))
  ) s
  WHERE c.uid = s.uid AND c.superseded IS DISTINCT FROM s.superseded;
$$;

-- Statement triggers with the inserted or deleted rows as `changed`.
CREATE FUNCTION vigil.checks_settle_superseded_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM vigil.settle_superseded_checks(array_agg(namespace), array_agg(name)) FROM changed;
  RETURN NULL;
END;
$$;

CREATE FUNCTION vigil.checks_settle_superseded_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM vigil.settle_superseded_checks(ARRAY[OLD.namespace, NEW.namespace], ARRAY[OLD.name, NEW.name]);
  RETURN NULL;
END;
$$;

CREATE TRIGGER checks_superseded_insert AFTER INSERT ON vigil.checks
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vigil.checks_settle_superseded_statement();
CREATE TRIGGER checks_superseded_delete AFTER DELETE ON vigil.checks
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vigil.checks_settle_superseded_statement();
CREATE TRIGGER checks_superseded_rename AFTER UPDATE OF namespace, name, created_at ON vigil.checks
  FOR EACH ROW
  WHEN (OLD.namespace IS DISTINCT FROM NEW.namespace OR OLD.name IS DISTINCT FROM NEW.name OR OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION vigil.checks_settle_superseded_row();

SELECT vigil.settle_superseded_checks(array_agg(namespace), array_agg(name)) FROM vigil.checks;
