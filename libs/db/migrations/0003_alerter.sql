-- The alerter's additions: per-receiver claims, delivery outcomes waiting to
-- be shown in the UptimeCheck status, and what was last written to each status.

-- Claims go receiver by receiver (each has its own in-flight slots), so the
-- due scan is per receiver.
CREATE INDEX webhook_deliveries_receiver_due ON vigil.webhook_deliveries (receiver, next_attempt_at) WHERE status = 'pending';

-- Set with each attempt's outcome; cleared once the status writer has shown it
-- (status.lastDelivery, and a WebhookFailed Event for a final failure).
ALTER TABLE vigil.webhook_deliveries ADD COLUMN report_pending boolean NOT NULL DEFAULT false;
CREATE INDEX webhook_deliveries_report_pending ON vigil.webhook_deliveries (updated_at) WHERE report_pending;

-- What the alerter last wrote to each UptimeCheck's /status: refreshes are
-- throttled against it, and the Ready condition's lastTransitionTime moves
-- only when its status changes.
CREATE TABLE vigil.check_status_reports (
  check_uid      uuid        PRIMARY KEY,
  patched_at     timestamptz NOT NULL,
  state          text        NOT NULL,
  code           integer,
  latency_ms     integer,
  last_probe_at  timestamptz,
  generation     bigint      NOT NULL,
  ready_status   text        NOT NULL CHECK (ready_status IN ('True', 'False', 'Unknown')),
  ready_since    timestamptz NOT NULL
);
