-- The writes one service makes for others to read, as functions (the way
-- graphile-worker's add_job is the one way to enqueue a job). The producer
-- calls them, and every other service's tests and benchmarks seed through the
-- same functions, so a change to a contract write changes what the consumers'
-- suites see. Each runs in the caller's transaction. docs/contracts.md lists
-- who calls what; the spellings (states, event types, channels, the webhook
-- body and id format) are defined in libs/contracts.

-- 0001's header points at DESIGN.md, outside the repository: the contracts
-- are in docs/contracts.md.

-- 0002 points at services/prober/src/storage/latency-buckets.ts, which never
-- existed: the constant is LATENCY_BUCKET_BOUNDS_MS in libs/db/src/latency-buckets.ts.
COMMENT ON COLUMN vigil.uptime_rollups.latency_buckets IS
  'Successful probes per total-latency bucket. Upper bounds in ms (inclusive): '
  '5,10,20,30,50,75,100,150,200,300,500,750,1000,1500,2000,3000,5000,10000,30000, '
  'then one overflow bucket (> 30000 ms): 20 counts. Bucket i counts bounds[i-1] < total_ms <= bounds[i]. '
  'latency_sum_ms and latency_max_ms also cover successful probes only. '
  'The bounds are LATENCY_BUCKET_BOUNDS_MS in libs/db/src/latency-buckets.ts (writer: prober, reader: api).';

-- ---- Webhooks ---------------------------------------------------------------

-- The one generator of webhook-ids: msg_ and 32 lowercase hex digits
-- (WEBHOOK_ID_PATTERN in libs/contracts), stable across retries.
CREATE FUNCTION vigil.new_webhook_id() RETURNS text
LANGUAGE sql VOLATILE AS $$
  SELECT 'msg_' || replace(gen_random_uuid()::text, '-', '')
$$;

-- ISO 8601 in UTC with milliseconds, as JavaScript's toISOString writes it.
CREATE FUNCTION vigil.iso_time(at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- The body of a transition's webhook (CheckWebhookPayload in libs/contracts).
CREATE FUNCTION vigil.webhook_payload(t vigil.transitions, event_type text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'type', event_type,
    'timestamp', vigil.iso_time(t.at),
    'data', jsonb_build_object(
      'check', jsonb_build_object('namespace', t.namespace, 'name', t.name, 'uid', t.check_uid, 'url', t.url),
      'from', t.from_state,
      'to', t.to_state,
      'since', vigil.iso_time(t.at),
      'code', t.code,
      'latencyMs', t.latency_ms,
      'reason', t.reason,
      'message', t.message))
$$;

-- The enabled receivers that want `event_type` for a check in `check_namespace`
-- with `check_labels`: namespaces empty or naming it, match_labels contained
-- in the labels. In name order.
CREATE FUNCTION vigil.matching_receivers(check_namespace text, check_labels jsonb, event_type text) RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT coalesce(array_agg(r.name ORDER BY r.name), '{}')
  FROM vigil.webhook_receivers r
  WHERE r.enabled
    AND (cardinality(r.namespaces) = 0 OR check_namespace = ANY(r.namespaces))
    AND check_labels @> r.match_labels
    AND event_type = ANY(r.events)
$$;

-- The outbox write: one delivery per element of `receivers` for transition
-- `transition_id`, each with a fresh webhook-id and the transition's body.
CREATE FUNCTION vigil.enqueue_webhooks(transition_id bigint, event_type text, receivers text[])
RETURNS TABLE (receiver text, delivery_id text)
LANGUAGE sql AS $$
  INSERT INTO vigil.webhook_deliveries (id, transition_id, receiver, event_type, payload)
  SELECT vigil.new_webhook_id(), t.id, r.name, event_type, vigil.webhook_payload(t, event_type)
  FROM vigil.transitions t, unnest(receivers) AS r(name)
  WHERE t.id = enqueue_webhooks.transition_id
  RETURNING receiver, id
$$;

-- ---- Transitions (the prober) -------------------------------------------------

-- Appends a transition to the log with its outbox rows and wakes the alerter
-- (NOTIFY vigil_transitions with the id; delivered at commit). `event_type` is
-- the event the transition fires (eventFor in libs/contracts), null for none.
-- `receivers` null fans out to every matching enabled receiver (what the
-- prober does); a list sends to exactly those (tests that route by hand).
-- Does not touch the check's state: record_transition does that.
CREATE FUNCTION vigil.append_transition(
  check_uid uuid, namespace text, name text, url text, generation bigint,
  from_state text, to_state text, at timestamptz, code integer, latency_ms integer, reason text, message text,
  event_type text, receivers text[] DEFAULT NULL
) RETURNS TABLE (transition_id bigint, deliveries jsonb)
LANGUAGE plpgsql AS $$
-- deliveries: {receiver: webhook-id}.
DECLARE
  new_id bigint;
  sent jsonb := '{}';
BEGIN
  INSERT INTO vigil.transitions (check_uid, namespace, name, url, generation, from_state, to_state, at, code, latency_ms, reason, message)
  VALUES (check_uid, namespace, name, url, generation, from_state, to_state, at, code, latency_ms, reason, message)
  RETURNING vigil.transitions.id INTO new_id;
  IF event_type IS NOT NULL THEN
    SELECT coalesce(jsonb_object_agg(q.receiver, q.delivery_id), '{}') INTO sent
    FROM vigil.enqueue_webhooks(new_id, event_type, coalesce(receivers, vigil.matching_receivers(
      append_transition.namespace,
      coalesce((SELECT c.labels FROM vigil.checks c WHERE c.uid = append_transition.check_uid), '{}'),
      event_type))) AS q;
  END IF;
  PERFORM pg_notify('vigil_transitions', new_id::text);
  transition_id := new_id;
  deliveries := sent;
  RETURN NEXT;
END;
$$;

-- A state change the prober decided: moves the check from `from_state` to
-- `to_state` only if it is still in `from_state` (a row that was deleted, or
-- already moved by another replica, is left alone and nothing is recorded;
-- no row is returned), stores the deciding probe's result with it unless a
-- later probe is already stored, then appends the transition with its outbox
-- rows and the NOTIFY.
CREATE FUNCTION vigil.record_transition(
  check_uid uuid, namespace text, name text, url text, generation bigint,
  from_state text, to_state text, at timestamptz, code integer, latency_ms integer, reason text, message text,
  event_type text, receivers text[] DEFAULT NULL
) RETURNS TABLE (transition_id bigint, deliveries jsonb)
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE vigil.checks c SET
    state = to_state,
    state_since = at,
    last_probe_at = greatest(c.last_probe_at, at),
    last_code = CASE WHEN c.last_probe_at IS NULL OR c.last_probe_at <= at THEN code ELSE c.last_code END,
    last_latency_ms = CASE WHEN c.last_probe_at IS NULL OR c.last_probe_at <= at THEN latency_ms ELSE c.last_latency_ms END,
    last_reason = CASE WHEN c.last_probe_at IS NULL OR c.last_probe_at <= at THEN reason ELSE c.last_reason END,
    last_message = CASE WHEN c.last_probe_at IS NULL OR c.last_probe_at <= at THEN message ELSE c.last_message END,
    updated_at = now()
  WHERE c.uid = record_transition.check_uid AND c.state = from_state;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY SELECT * FROM vigil.append_transition(
    check_uid, namespace, name, url, generation, from_state, to_state, at, code, latency_ms, reason, message, event_type, receivers);
END;
$$;

-- Moves paused checks into state 'paused' in one statement: the state, a
-- transition each (no outbox rows: pausing notifies no receiver), counters
-- reset so that resuming starts afresh, leases dropped, one NOTIFY
-- vigil_transitions. Returns how many moved.
CREATE FUNCTION vigil.settle_paused_checks() RETURNS integer
LANGUAGE sql AS $$
  WITH target AS (
    SELECT uid, state FROM vigil.checks WHERE paused AND state <> 'paused' FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE vigil.checks c
    SET state = 'paused', state_since = now(), consecutive_failures = 0, consecutive_successes = 0,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    FROM target WHERE c.uid = target.uid
    RETURNING c.uid, c.namespace, c.name, c.url, c.generation, target.state AS from_state
  ), recorded AS (
    INSERT INTO vigil.transitions (check_uid, namespace, name, url, generation, from_state, to_state, at, code, reason, message)
    SELECT uid, namespace, name, url, generation, from_state, 'paused', now(), 0, 'Paused', 'spec.paused is true'
    FROM moved
    RETURNING id
  ), notified AS (
    SELECT count(*)::int AS moved, pg_notify('vigil_transitions', max(id)::text) FROM recorded HAVING count(*) > 0
  )
  SELECT coalesce((SELECT moved FROM notified), 0)
$$;

-- ---- Checks (the watcher) ----------------------------------------------------

-- Inserts new rows (state seeded from the object's status) and updates the
-- watcher-owned columns of existing rows only when they differ, so a
-- status-only update or a relist of unchanged objects writes nothing. A spec
-- or generation change also makes the row due now; probers own every other
-- column. `rows` is a jsonb array of CheckUpsert (libs/contracts) with
-- distinct uids. Sends NOTIFY vigil_checks when a row changed (Postgres folds
-- identical notifications of one transaction into one).
CREATE FUNCTION vigil.upsert_checks(rows jsonb, OUT inserted integer, OUT updated integer)
LANGUAGE plpgsql AS $$
BEGIN
  WITH written AS (
    INSERT INTO vigil.checks AS c (uid, namespace, name, generation, labels, url, method, headers, interval_ms, timeout_ms,
      expect_status_codes, expect_body_contains, failure_threshold, success_threshold, paused, publish, display_name, group_name,
      state, state_since)
    SELECT r.uid, r.namespace, r.name, r.generation, coalesce(r.labels, '{}'), r.url, coalesce(r.method, 'GET'), coalesce(r.headers, '{}'),
      r.interval_ms, r.timeout_ms, coalesce(r.expect_status_codes, '{200-399}'), r.expect_body_contains,
      coalesce(r.failure_threshold, 1), coalesce(r.success_threshold, 1), coalesce(r.paused, false), coalesce(r.publish, true),
      r.display_name, r.group_name, coalesce(r.seed_state, 'pending'), coalesce(r.seed_state_since, now())
    FROM jsonb_to_recordset(rows) AS r(uid uuid, namespace text, name text, generation bigint, labels jsonb, url text, method text,
      headers jsonb, interval_ms integer, timeout_ms integer, expect_status_codes text[], expect_body_contains text,
      failure_threshold smallint, success_threshold smallint, paused boolean, publish boolean, display_name text, group_name text,
      seed_state text, seed_state_since timestamptz)
    ON CONFLICT (uid) DO UPDATE SET
      (namespace, name, labels, publish, display_name, group_name, generation, url, method, headers, interval_ms, timeout_ms,
       expect_status_codes, expect_body_contains, failure_threshold, success_threshold, paused)
      = (EXCLUDED.namespace, EXCLUDED.name, EXCLUDED.labels, EXCLUDED.publish, EXCLUDED.display_name, EXCLUDED.group_name,
         EXCLUDED.generation, EXCLUDED.url, EXCLUDED.method, EXCLUDED.headers, EXCLUDED.interval_ms, EXCLUDED.timeout_ms,
         EXCLUDED.expect_status_codes, EXCLUDED.expect_body_contains, EXCLUDED.failure_threshold, EXCLUDED.success_threshold, EXCLUDED.paused),
      next_due_at = CASE
        WHEN (c.generation, c.url, c.method, c.headers, c.interval_ms, c.timeout_ms, c.expect_status_codes, c.expect_body_contains,
              c.failure_threshold, c.success_threshold, c.paused)
             IS DISTINCT FROM
             (EXCLUDED.generation, EXCLUDED.url, EXCLUDED.method, EXCLUDED.headers, EXCLUDED.interval_ms, EXCLUDED.timeout_ms,
              EXCLUDED.expect_status_codes, EXCLUDED.expect_body_contains, EXCLUDED.failure_threshold, EXCLUDED.success_threshold, EXCLUDED.paused)
        THEN now() ELSE c.next_due_at END,
      updated_at = now()
    WHERE (c.namespace, c.name, c.labels, c.publish, c.display_name, c.group_name, c.generation, c.url, c.method, c.headers,
           c.interval_ms, c.timeout_ms, c.expect_status_codes, c.expect_body_contains, c.failure_threshold, c.success_threshold, c.paused)
          IS DISTINCT FROM
          (EXCLUDED.namespace, EXCLUDED.name, EXCLUDED.labels, EXCLUDED.publish, EXCLUDED.display_name, EXCLUDED.group_name,
           EXCLUDED.generation, EXCLUDED.url, EXCLUDED.method, EXCLUDED.headers, EXCLUDED.interval_ms, EXCLUDED.timeout_ms,
           EXCLUDED.expect_status_codes, EXCLUDED.expect_body_contains, EXCLUDED.failure_threshold, EXCLUDED.success_threshold, EXCLUDED.paused)
    RETURNING (xmax = 0) AS is_new
  )
  SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) INTO inserted, updated FROM written;
  IF inserted + updated > 0 THEN
    PERFORM pg_notify('vigil_checks', '');
  END IF;
END;
$$;

-- Deletes the rows of checks that were deleted. NOTIFY vigil_checks when a
-- row went. Returns how many went.
CREATE FUNCTION vigil.retire_checks(uids uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  gone integer;
BEGIN
  DELETE FROM vigil.checks c WHERE c.uid = ANY(uids);
  GET DIAGNOSTICS gone = ROW_COUNT;
  IF gone > 0 THEN
    PERFORM pg_notify('vigil_checks', '');
  END IF;
  RETURN gone;
END;
$$;

-- After a full list: deletes the rows in `namespaces` (null: every
-- namespace) whose uid was not listed (`keep`). NOTIFY vigil_checks when a
-- row went. Returns how many went.
CREATE FUNCTION vigil.retire_unlisted_checks(namespaces text[], keep uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  gone integer;
BEGIN
  DELETE FROM vigil.checks c
  WHERE (namespaces IS NULL OR c.namespace = ANY(namespaces)) AND NOT (c.uid = ANY(keep));
  GET DIAGNOSTICS gone = ROW_COUNT;
  IF gone > 0 THEN
    PERFORM pg_notify('vigil_checks', '');
  END IF;
  RETURN gone;
END;
$$;
