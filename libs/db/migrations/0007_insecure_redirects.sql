-- Credentials stay with their check (issue 16).
--
-- 1. spec.allowInsecureRedirects: a check may opt in to following a redirect
--    from https to http; by default the prober refuses it (InsecureRedirect).
-- 2. What leaves a check is redacted and capped: vigil.redact_url() and
--    vigil.cap_message() are redactUrl and capMessage of libs/contracts
--    (src/redaction.ts) in SQL, the same rules, tested against each other in
--    libs/db/src/contracts.int-spec.ts. Triggers apply them to every row
--    written, whoever writes it: transitions (and so every webhook body, built
--    from the transition), every stored message (probe results, the check's
--    last message, delivery errors), and userinfo in checks.url. Each trigger
--    has a WHEN clause, so the rows that need nothing (nearly all: every
--    probe batch updates checks.last_message) never enter PL/pgSQL.
-- 3. upsert_checks takes allow_insecure_redirects.
-- 4. Rows written before this migration are redacted and capped once.

ALTER TABLE vigil.checks ADD COLUMN allow_insecure_redirects boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN vigil.checks.allow_insecure_redirects IS
  'spec.allowInsecureRedirects: follow redirects from https to http (otherwise the probe fails with InsecureRedirect).';

-- ---- Redaction ----------------------------------------------------------------

-- userinfo (user:password@) of a scheme://authority URL becomes REDACTED@.
CREATE FUNCTION vigil.redact_userinfo(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\\]*@', '\1REDACTED@')
$$;

-- The URL as it may be shown outside the check (redactUrl in libs/contracts):
-- userinfo REDACTED@, every query value REDACTED (names kept; a bare name
-- becomes REDACTED), no fragment; scheme, host, port and path as written.
CREATE FUNCTION vigil.redact_url(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(m[1], '') || coalesce(regexp_replace(m[2], '^.*@', 'REDACTED@'), '') || m[3]
    || coalesce('?' || (
         SELECT string_agg(CASE WHEN p = '' THEN '' WHEN strpos(p, '=') > 0 THEN left(p, strpos(p, '=') - 1) || '=REDACTED' ELSE 'REDACTED' END, '&' ORDER BY i)
         FROM unnest(string_to_array(nullif(substr(m[4], 2), ''), '&')) WITH ORDINALITY AS q(p, i)), '')
  FROM regexp_match(url, '^(?:([A-Za-z][A-Za-z0-9+.-]*://)([^/?#\\]*))?([^?#]*)(\?[^#]*)?') AS m
  WHERE url IS NOT NULL
$$;

-- A stored message at most 1024 characters (MESSAGE_MAX_CHARS in
-- libs/contracts), the last an ellipsis when cut.
CREATE FUNCTION vigil.cap_message(message text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN char_length(message) > 1024 THEN left(message, 1023) || '…' ELSE message END
$$;

-- ---- Enforced on every write --------------------------------------------------

-- Applies to NEW the rules its trigger names: each argument is column=rule,
-- the rule url (vigil.redact_url), userinfo (vigil.redact_userinfo) or
-- message (vigil.cap_message). Only the named columns are replaced.
CREATE FUNCTION vigil.redact_columns() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  arg text;
  col text;
  val text;
  fixed jsonb := '{}';
BEGIN
  FOREACH arg IN ARRAY TG_ARGV LOOP
    col := split_part(arg, '=', 1);
    val := to_jsonb(NEW) ->> col;
    fixed := fixed || jsonb_build_object(col, CASE split_part(arg, '=', 2)
      WHEN 'url' THEN vigil.redact_url(val)
      WHEN 'userinfo' THEN vigil.redact_userinfo(val)
      WHEN 'message' THEN vigil.cap_message(val)
    END);
  END LOOP;
  NEW := jsonb_populate_record(NEW, fixed);
  RETURN NEW;
END;
$$;

CREATE TRIGGER transitions_redact BEFORE INSERT OR UPDATE OF url, message ON vigil.transitions
  FOR EACH ROW WHEN (NEW.url ~ '[?#@]' OR char_length(NEW.message) > 1024)
  EXECUTE FUNCTION vigil.redact_columns('url=url', 'message=message');
CREATE TRIGGER checks_redact BEFORE INSERT OR UPDATE OF url, last_message ON vigil.checks
  FOR EACH ROW WHEN (NEW.url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\\]*@' OR char_length(NEW.last_message) > 1024)
  EXECUTE FUNCTION vigil.redact_columns('url=userinfo', 'last_message=message');
-- On the partitioned table: every partition, present and future, has it.
CREATE TRIGGER probe_results_cap BEFORE INSERT ON vigil.probe_results
  FOR EACH ROW WHEN (char_length(NEW.message) > 1024)
  EXECUTE FUNCTION vigil.redact_columns('message=message');
CREATE TRIGGER webhook_deliveries_cap BEFORE INSERT OR UPDATE OF last_error ON vigil.webhook_deliveries
  FOR EACH ROW WHEN (char_length(NEW.last_error) > 1024)
  EXECUTE FUNCTION vigil.redact_columns('last_error=message');
CREATE TRIGGER webhook_attempts_cap BEFORE INSERT OR UPDATE OF error ON vigil.webhook_attempts
  FOR EACH ROW WHEN (char_length(NEW.error) > 1024)
  EXECUTE FUNCTION vigil.redact_columns('error=message');

-- ---- The watcher's write, with the new column ------------------------------------

-- As in 0006, plus allow_insecure_redirects; url without userinfo here too, so
-- that an unchanged object compares equal to its stored row.
CREATE OR REPLACE FUNCTION vigil.upsert_checks(rows jsonb, OUT inserted integer, OUT updated integer)
LANGUAGE plpgsql AS $$
BEGIN
  WITH written AS (
    INSERT INTO vigil.checks AS c (uid, namespace, name, generation, labels, url, method, headers, interval_ms, timeout_ms,
      expect_status_codes, expect_body_contains, failure_threshold, success_threshold, paused, publish, display_name, group_name,
      allow_insecure_redirects, state, state_since)
    SELECT r.uid, r.namespace, r.name, r.generation, coalesce(r.labels, '{}'), vigil.redact_userinfo(r.url), coalesce(r.method, 'GET'), coalesce(r.headers, '{}'),
      r.interval_ms, r.timeout_ms, coalesce(r.expect_status_codes, '{200-399}'), r.expect_body_contains,
      coalesce(r.failure_threshold, 1), coalesce(r.success_threshold, 1), coalesce(r.paused, false), coalesce(r.publish, true),
      r.display_name, r.group_name, coalesce(r.allow_insecure_redirects, false), coalesce(r.seed_state, 'pending'), coalesce(r.seed_state_since, now())
    FROM jsonb_to_recordset(rows) AS r(uid uuid, namespace text, name text, generation bigint, labels jsonb, url text, method text,
      headers jsonb, interval_ms integer, timeout_ms integer, expect_status_codes text[], expect_body_contains text,
      failure_threshold smallint, success_threshold smallint, paused boolean, publish boolean, display_name text, group_name text,
      allow_insecure_redirects boolean, seed_state text, seed_state_since timestamptz)
    ON CONFLICT (uid) DO UPDATE SET
      (namespace, name, labels, publish, display_name, group_name, generation, url, method, headers, interval_ms, timeout_ms,
       expect_status_codes, expect_body_contains, failure_threshold, success_threshold, paused, allow_insecure_redirects)
      = (EXCLUDED.namespace, EXCLUDED.name, EXCLUDED.labels, EXCLUDED.publish, EXCLUDED.display_name, EXCLUDED.group_name,
         EXCLUDED.generation, EXCLUDED.url, EXCLUDED.method, EXCLUDED.headers, EXCLUDED.interval_ms, EXCLUDED.timeout_ms,
         EXCLUDED.expect_status_codes, EXCLUDED.expect_body_contains, EXCLUDED.failure_threshold, EXCLUDED.success_threshold, EXCLUDED.paused,
         EXCLUDED.allow_insecure_redirects),
      next_due_at = CASE
        WHEN (c.generation, c.url, c.method, c.headers, c.interval_ms, c.timeout_ms, c.expect_status_codes, c.expect_body_contains,
              c.failure_threshold, c.success_threshold, c.paused, c.allow_insecure_redirects)
             IS DISTINCT FROM
             (EXCLUDED.generation, EXCLUDED.url, EXCLUDED.method, EXCLUDED.headers, EXCLUDED.interval_ms, EXCLUDED.timeout_ms,
              EXCLUDED.expect_status_codes, EXCLUDED.expect_body_contains, EXCLUDED.failure_threshold, EXCLUDED.success_threshold, EXCLUDED.paused,
              EXCLUDED.allow_insecure_redirects)
        THEN now() ELSE c.next_due_at END,
      updated_at = now()
    WHERE (c.namespace, c.name, c.labels, c.publish, c.display_name, c.group_name, c.generation, c.url, c.method, c.headers,
           c.interval_ms, c.timeout_ms, c.expect_status_codes, c.expect_body_contains, c.failure_threshold, c.success_threshold, c.paused,
           c.allow_insecure_redirects)
          IS DISTINCT FROM
          (EXCLUDED.namespace, EXCLUDED.name, EXCLUDED.labels, EXCLUDED.publish, EXCLUDED.display_name, EXCLUDED.group_name,
           EXCLUDED.generation, EXCLUDED.url, EXCLUDED.method, EXCLUDED.headers, EXCLUDED.interval_ms, EXCLUDED.timeout_ms,
           EXCLUDED.expect_status_codes, EXCLUDED.expect_body_contains, EXCLUDED.failure_threshold, EXCLUDED.success_threshold, EXCLUDED.paused,
           EXCLUDED.allow_insecure_redirects)
    RETURNING (xmax = 0) AS is_new
  )
  SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) INTO inserted, updated FROM written;
  IF inserted + updated > 0 THEN
    PERFORM pg_notify('vigil_checks', '');
  END IF;
END;
$$;

-- ---- What was stored before ---------------------------------------------------

-- The prober's messages that quote a redirect Location (TooManyRedirects,
-- ProtocolError), with the Location redacted. Only for this migration.
CREATE FUNCTION pg_temp.redact_locations(message text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(
    (SELECT m[1] || vigil.redact_url(m[2]) || ')' FROM regexp_match(message, '^(more than [0-9]+ redirects \(last to )(.*)\)$') AS m),
    (SELECT m[1] || vigil.redact_url(m[2]) || '"' FROM regexp_match(message, '^(invalid redirect location ")(.*)"$') AS m),
    message)
$$;

-- The triggers above redact and cap what these write.
UPDATE vigil.checks SET url = url WHERE url <> vigil.redact_userinfo(url);
UPDATE vigil.checks SET last_message = pg_temp.redact_locations(last_message)
WHERE last_message IS DISTINCT FROM vigil.cap_message(pg_temp.redact_locations(last_message));
UPDATE vigil.transitions SET url = url, message = pg_temp.redact_locations(message)
WHERE url <> vigil.redact_url(url) OR message IS DISTINCT FROM vigil.cap_message(pg_temp.redact_locations(message));
-- Bodies are built from the transition (vigil.webhook_payload): rebuilt from
-- the redacted one; a retry signs the new bytes.
UPDATE vigil.webhook_deliveries d SET payload = vigil.webhook_payload(t, d.event_type)
FROM vigil.transitions t
WHERE t.id = d.transition_id AND d.payload IS DISTINCT FROM vigil.webhook_payload(t, d.event_type);
UPDATE vigil.webhook_deliveries SET last_error = last_error WHERE char_length(last_error) > 1024;
UPDATE vigil.webhook_attempts SET error = error WHERE char_length(error) > 1024;
-- probe_results keeps its old messages until RESULT_RETENTION drops them:
-- rewriting every partition would hold the prober's inserts for long.
