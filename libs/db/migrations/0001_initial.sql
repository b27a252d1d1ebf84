-- Vigil's schema. Table names are contracts between services (see DESIGN.md);
-- columns belong to their writer and later migrations may add to them.

-- One row per UptimeCheck, keyed by the object's uid. Written by the watcher
-- (spec columns), claimed and updated by probers (schedule and state columns).
CREATE TABLE vigil.checks (
  uid                    uuid PRIMARY KEY,
  namespace              text        NOT NULL,
  name                   text        NOT NULL,
  generation             bigint      NOT NULL,
  labels                 jsonb       NOT NULL DEFAULT '{}',
  -- What probers need from the spec.
  url                    text        NOT NULL,
  method                 text        NOT NULL DEFAULT 'GET',
  headers                jsonb       NOT NULL DEFAULT '{}',
  interval_ms            integer     NOT NULL CHECK (interval_ms BETWEEN 5000 AND 86400000),
  timeout_ms             integer     NOT NULL CHECK (timeout_ms > 0 AND timeout_ms < interval_ms),
  expect_status_codes    text[]      NOT NULL DEFAULT '{200-399}',
  expect_body_contains   text,
  failure_threshold      smallint    NOT NULL DEFAULT 1 CHECK (failure_threshold BETWEEN 1 AND 10),
  success_threshold      smallint    NOT NULL DEFAULT 1 CHECK (success_threshold BETWEEN 1 AND 10),
  paused                 boolean     NOT NULL DEFAULT false,
  -- What the status page needs from the spec.
  publish                boolean     NOT NULL DEFAULT true,
  display_name           text,
  group_name             text,
  -- Scheduling: a prober claims a due row (FOR UPDATE SKIP LOCKED) and holds a lease on it.
  next_due_at            timestamptz NOT NULL DEFAULT now(),
  lease_owner            text,
  lease_expires_at       timestamptz,
  -- Current state, seeded from the object's status when the row is new.
  state                  text        NOT NULL DEFAULT 'pending' CHECK (state IN ('up', 'down', 'pending', 'paused')),
  state_since            timestamptz NOT NULL DEFAULT now(),
  consecutive_failures   integer     NOT NULL DEFAULT 0,
  consecutive_successes  integer     NOT NULL DEFAULT 0,
  last_probe_at          timestamptz,
  last_code              integer,
  last_latency_ms        integer,
  last_reason            text,
  last_message           text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
-- Not unique: a check deleted and re-created under the same name has a new uid,
-- and for a moment both rows may exist.
CREATE INDEX checks_namespace_name ON vigil.checks (namespace, name);
CREATE INDEX checks_due ON vigil.checks (next_due_at) WHERE NOT paused;

-- Raw probe results, one partition per UTC day; retention drops whole partitions.
CREATE TABLE vigil.probe_results (
  check_uid   uuid        NOT NULL,
  started_at  timestamptz NOT NULL,
  due_at      timestamptz,
  ok          boolean     NOT NULL,
  code        integer     NOT NULL DEFAULT 0,
  reason      text,
  message     text,
  dns_ms      real,
  connect_ms  real,
  tls_ms      real,
  ttfb_ms     real,
  total_ms    real,
  prober      text
) PARTITION BY RANGE (started_at);
CREATE INDEX probe_results_check_time ON vigil.probe_results (check_uid, started_at DESC);

-- Creates the daily partitions of probe_results from `from_day` for `days` days; idempotent.
CREATE FUNCTION vigil.ensure_probe_result_partitions(from_day date, days integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  d date;
BEGIN
  FOR i IN 0 .. days - 1 LOOP
    d := from_day + i;
    EXECUTE format(
      'CREATE TABLE IF NOT EXISTS vigil.%I PARTITION OF vigil.probe_results FOR VALUES FROM (%L) TO (%L)',
      'probe_results_' || to_char(d, 'YYYYMMDD'), d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END;
$$;
SELECT vigil.ensure_probe_result_partitions((now() AT TIME ZONE 'UTC')::date - 1, 9);

-- Pre-aggregated uptime and latency: the status page reads only these.
-- latency_buckets counts successful probes per latency bucket (bounds are the
-- writer's and reader's shared constant), so p50/p95 come from rollups too.
CREATE TABLE vigil.uptime_rollups (
  check_uid        uuid        NOT NULL,
  granularity      text        NOT NULL CHECK (granularity IN ('hour', 'day')),
  bucket_start     timestamptz NOT NULL,
  probes           integer     NOT NULL DEFAULT 0,
  successes        integer     NOT NULL DEFAULT 0,
  latency_sum_ms   double precision NOT NULL DEFAULT 0,
  latency_max_ms   double precision NOT NULL DEFAULT 0,
  latency_buckets  integer[]   NOT NULL DEFAULT '{}',
  PRIMARY KEY (check_uid, granularity, bucket_start)
);

-- Every state change of a check. Written by a prober in the same transaction
-- as the new state and the outbox rows.
CREATE TABLE vigil.transitions (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  check_uid      uuid        NOT NULL,
  namespace      text        NOT NULL,
  name           text        NOT NULL,
  url            text        NOT NULL,
  generation     bigint      NOT NULL,
  from_state     text        NOT NULL,
  to_state       text        NOT NULL,
  at             timestamptz NOT NULL,
  code           integer     NOT NULL DEFAULT 0,
  latency_ms     integer,
  reason         text,
  message        text,
  -- Set by the alerter once the CR status and Event reflect this transition.
  status_applied_at timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transitions_check_time ON vigil.transitions (check_uid, at DESC);
CREATE INDEX transitions_status_pending ON vigil.transitions (id) WHERE status_applied_at IS NULL;

-- Webhook receivers as the alerter loaded them from its mounted config file
-- (their secrets stay in the file). A prober fans a transition out to the
-- enabled receivers that match it, inside the transition's transaction.
CREATE TABLE vigil.webhook_receivers (
  name             text        PRIMARY KEY,
  url              text        NOT NULL,
  namespaces       text[]      NOT NULL DEFAULT '{}',  -- empty: every namespace
  match_labels     jsonb       NOT NULL DEFAULT '{}',  -- checks.labels must contain these
  events           text[]      NOT NULL DEFAULT '{check.down,check.up}',
  enabled          boolean     NOT NULL DEFAULT true,
  disabled_reason  text,                               -- e.g. the receiver answered 410 Gone
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The webhook outbox: one row per transition and matching receiver.
CREATE TABLE vigil.webhook_deliveries (
  id               text        PRIMARY KEY,  -- the webhook-id, stable across retries
  transition_id    bigint      NOT NULL REFERENCES vigil.transitions (id) ON DELETE CASCADE,
  receiver         text        NOT NULL,
  event_type       text        NOT NULL CHECK (event_type IN ('check.down', 'check.up')),
  payload          jsonb       NOT NULL,
  status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'disabled')),
  attempts         integer     NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  locked_by        text,
  locked_until     timestamptz,
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON vigil.webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_transition ON vigil.webhook_deliveries (transition_id);

-- Every delivery attempt, successful or not.
CREATE TABLE vigil.webhook_attempts (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id       text        NOT NULL REFERENCES vigil.webhook_deliveries (id) ON DELETE CASCADE,
  attempt           integer     NOT NULL,
  started_at        timestamptz NOT NULL,
  duration_ms       integer     NOT NULL,
  status_code       integer,
  error             text,
  response_excerpt  text,
  alerter           text
);
CREATE INDEX webhook_attempts_delivery ON vigil.webhook_attempts (delivery_id, attempt);
