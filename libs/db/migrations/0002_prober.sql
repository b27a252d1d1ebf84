-- The prober's additions: the latency histogram's bucket bounds written down
-- where readers find them, an index for settling paused checks, and partition
-- retention.

-- The bounds are a contract between the prober (writer) and the api (reader);
-- the constant is LATENCY_BUCKET_BOUNDS_MS in services/prober/src/storage/latency-buckets.ts.
COMMENT ON COLUMN vigil.uptime_rollups.latency_buckets IS
  'Successful probes per total-latency bucket. Upper bounds in ms (inclusive): '
  '5,10,20,30,50,75,100,150,200,300,500,750,1000,1500,2000,3000,5000,10000,30000, '
  'then one overflow bucket (> 30000 ms): 20 counts. Bucket i counts bounds[i-1] < total_ms <= bounds[i]. '
  'latency_sum_ms and latency_max_ms also cover successful probes only.';

-- Probers move paused checks into state ''paused'' on every claim cycle; this
-- keeps that query from scanning the table.
CREATE INDEX checks_paused_unsettled ON vigil.checks (uid) WHERE paused AND state <> 'paused';

-- Drops the daily partitions of probe_results whose whole day ended at or
-- before `older_than`; returns their names. The caller holds a lock_timeout:
-- dropping a partition needs a brief exclusive lock on probe_results.
CREATE FUNCTION vigil.drop_probe_result_partitions(older_than timestamptz) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  part text;
BEGIN
  FOR part IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE i.inhparent = 'vigil.probe_results'::regclass
      AND n.nspname = 'vigil'
      AND c.relname ~ '^probe_results_[0-9]{8}$'
      AND (to_date(substring(c.relname FROM 15), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= older_than
    ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE vigil.%I', part);
    RETURN NEXT part;
  END LOOP;
END;
$$;
