import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import {
  CHANNELS,
  CHECK_ROW_DEFAULTS,
  CHECK_EVENT_TYPES,
  CHECK_STATES,
  DELIVERY_STATUSES,
  MESSAGE_MAX_CHARS,
  WEBHOOK_ID_PATTERN,
  capMessage,
  eventFor,
  redactUrl,
  redactUserinfo,
  webhookPayloadOf,
  type CheckUpsert,
  type CheckWebhookPayload,
} from '@vigil/contracts';
import { loadUptimeCheckCrd } from '@vigil/k8s';
import { PostgresServer, type TestDatabase } from '@vigil/testing';
import { createPool, type Pool } from './pool.js';
import { loadMigrations, migrate } from './migrate.js';

// The SQL and CRD spellings of the vocabulary, and the contract writes of
// migration 0006, checked against the one definition in @vigil/contracts.

let server: PostgresServer;
let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  server = await PostgresServer.start();
  db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'contracts-test', max: 4 });
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await server?.destroy();
});

/** The values a `CHECK (column IN (...))` constraint allows, in its order. */
async function allowedValues(table: string, column: string): Promise<string[]> {
  const { rows } = await pool.query<{ def: string }>(
    `SELECT pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
      WHERE c.conrelid = $1::regclass AND c.contype = 'c' AND a.attname = $2`,
    [`vigil.${table}`, column],
  );
  expect(rows).toHaveLength(1);
  return [...rows[0]!.def.matchAll(/'([^']*)'::text/g)].map((m) => m[1]!);
}

const sorted = (values: readonly string[]) => [...values].sort();

describe('the SQL and CRD spell the vocabulary as @vigil/contracts does', () => {
  it('checks.state allows exactly CHECK_STATES', async () => {
    expect(sorted(await allowedValues('checks', 'state'))).toEqual(sorted(CHECK_STATES));
  });

  it('webhook_deliveries.event_type allows exactly CHECK_EVENT_TYPES, and receivers want all of them by default', async () => {
    expect(sorted(await allowedValues('webhook_deliveries', 'event_type'))).toEqual(sorted(CHECK_EVENT_TYPES));
    const { rows } = await pool.query<{ def: string }>(
      `SELECT column_default AS def FROM information_schema.columns WHERE table_schema = 'vigil' AND table_name = 'webhook_receivers' AND column_name = 'events'`,
    );
    expect(sorted(/^'\{(.*)\}'::text\[\]$/.exec(rows[0]!.def)![1]!.split(','))).toEqual(sorted(CHECK_EVENT_TYPES));
  });

  it('webhook_deliveries.status allows exactly DELIVERY_STATUSES', async () => {
    expect(sorted(await allowedValues('webhook_deliveries', 'status'))).toEqual(sorted(DELIVERY_STATUSES));
  });

  it("the CRD's status.state enum is CHECK_STATES", async () => {
    const crd = await loadUptimeCheckCrd();
    const state = crd.spec.versions[0]!.schema!.openAPIV3Schema!.properties!.status!.properties!.state!;
    expect(sorted(state._enum as string[])).toEqual(sorted(CHECK_STATES));
  });

  it('the contract writes notify on the CHANNELS names', async () => {
    const { rows } = await pool.query<{ name: string; channel: string }>(
      `SELECT p.proname AS name, m[1] AS channel
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
              regexp_matches(p.prosrc, 'pg_notify\\(''([a-z_]+)''', 'g') AS m
        WHERE n.nspname = 'vigil'
        ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { name: 'append_transition', channel: CHANNELS.transitions },
      { name: 'retire_checks', channel: CHANNELS.checks },
      { name: 'retire_unlisted_checks', channel: CHANNELS.checks },
      { name: 'settle_paused_checks', channel: CHANNELS.transitions },
      { name: 'upsert_checks', channel: CHANNELS.checks },
    ]);
  });
});

const UID = '0b0f6a4e-51a4-4a57-9f39-0d5e0a4e7a11';

function upsert(fields: Partial<CheckUpsert> = {}): CheckUpsert {
  return {
    ...CHECK_ROW_DEFAULTS,
    uid: UID,
    namespace: 'shop',
    name: 'web',
    labels: { team: 'payments' },
    url: 'https://shop.example.com/health',
    expect_status_codes: ['200-399'],
    ...fields,
  };
}

async function listen(channel: string): Promise<{ payloads: string[]; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const payloads: string[] = [];
  client.on('notification', (n) => payloads.push(n.payload ?? ''));
  await client.query(`LISTEN ${channel}`);
  return { payloads, close: () => client.end() };
}

const settle = () => new Promise((r) => setTimeout(r, 200));

describe('the contract writes', () => {
  it('upsert_checks inserts, changes only what differs, and notifies once per transaction; the retire functions delete', async () => {
    const checks = await listen(CHANNELS.checks);
    try {
      expect((await pool.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([upsert({ seed_state: 'down' })])])).rows).toEqual([{ inserted: 1, updated: 0 }]);
      expect((await pool.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([upsert()])])).rows).toEqual([{ inserted: 0, updated: 0 }]);
      expect((await pool.query(`SELECT state FROM vigil.checks WHERE uid = $1`, [UID])).rows).toEqual([{ state: 'down' }]);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([upsert({ generation: 2 })])]);
        await client.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([upsert({ generation: 3 })])]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await settle();
      expect(checks.payloads).toEqual(['', '']);
      expect((await pool.query(`SELECT vigil.retire_unlisted_checks(ARRAY['other'], '{}') AS n`)).rows).toEqual([{ n: 0 }]);
      expect((await pool.query(`SELECT vigil.retire_unlisted_checks(NULL, '{}') AS n`)).rows).toEqual([{ n: 1 }]);
      await pool.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([upsert()])]);
      expect((await pool.query(`SELECT vigil.retire_checks(ARRAY[$1::uuid]) AS n`, [UID])).rows).toEqual([{ n: 1 }]);
    } finally {
      await checks.close();
    }
  });

  it('record_transition moves the state, logs the transition, queues the body for matching receivers and notifies; a stale from-state records nothing', async () => {
    await pool.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([upsert({ seed_state: 'up' })])]);
    await pool.query(
      `INSERT INTO vigil.webhook_receivers (name, url, namespaces, match_labels, events) VALUES
         ('ops', 'https://hooks.example.com/ops', '{}', '{"team": "payments"}', '{check.down,check.up}'),
         ('ups-only', 'https://hooks.example.com/up', '{}', '{}', '{check.up}'),
         ('elsewhere', 'https://hooks.example.com/x', '{prod}', '{}', '{check.down}')`,
    );
    const transitions = await listen(CHANNELS.transitions);
    try {
      const at = '2026-06-06T22:41:05.123Z';
      const args = [UID, 'shop', 'web', 'https://shop.example.com/health', 1, 'up', 'down', at, 503, 87, 'UnexpectedStatus', 'HTTP 503', eventFor('down')];
      const recorded = await pool.query<{ transition_id: number; deliveries: Record<string, string> }>(
        `SELECT * FROM vigil.record_transition($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        args,
      );
      expect(recorded.rows).toEqual([{ transition_id: expect.any(Number), deliveries: { ops: expect.stringMatching(WEBHOOK_ID_PATTERN) } }]);
      const { transition_id: id, deliveries } = recorded.rows[0]!;
      const expected: CheckWebhookPayload = {
        type: 'check.down',
        timestamp: at,
        data: {
          check: { namespace: 'shop', name: 'web', uid: UID, url: 'https://shop.example.com/health' },
          from: 'up',
          to: 'down',
          since: at,
          code: 503,
          latencyMs: 87,
          reason: 'UnexpectedStatus',
          message: 'HTTP 503',
        },
      };
      const facts = { uid: UID, namespace: 'shop', name: 'web', url: 'https://shop.example.com/health', from: 'up', to: 'down', at: new Date(at) } as const;
      expect(webhookPayloadOf({ ...facts, code: 503, latencyMs: 87, reason: 'UnexpectedStatus', message: 'HTTP 503' }, 'check.down')).toEqual(expected);
      const outbox = await pool.query(`SELECT id, transition_id, receiver, event_type, payload, status FROM vigil.webhook_deliveries`);
      expect(outbox.rows).toEqual([{ id: deliveries.ops, transition_id: id, receiver: 'ops', event_type: 'check.down', payload: expected, status: 'pending' }]);
      const check = await pool.query(`SELECT state, state_since, last_code, last_latency_ms, last_reason FROM vigil.checks WHERE uid = $1`, [UID]);
      expect(check.rows).toEqual([{ state: 'down', state_since: new Date(at), last_code: 503, last_latency_ms: 87, last_reason: 'UnexpectedStatus' }]);

      // Another replica's copy of the same decision: the row is no longer up.
      expect((await pool.query(`SELECT * FROM vigil.record_transition($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, args)).rows).toEqual([]);
      // Into pending: no event, no outbox rows, but logged and notified.
      const quiet = await pool.query(`SELECT * FROM vigil.record_transition($1, 'shop', 'web', 'https://shop.example.com/health', 1, 'down', 'pending', now(), 0, NULL, NULL, NULL, $2)`, [
        UID,
        eventFor('pending'),
      ]);
      expect(quiet.rows).toEqual([{ transition_id: id + 1, deliveries: {} }]);
      await settle();
      expect(transitions.payloads).toEqual([String(id), String(id + 1)]);
      expect((await pool.query(`SELECT count(*)::int AS n FROM vigil.webhook_deliveries`)).rows).toEqual([{ n: 1 }]);
    } finally {
      await transitions.close();
    }
  });
});

describe('redaction and message caps (migration 0007)', () => {
  const URLS = [
    'https://example.com',
    'https://h/p?token=secret&page=2',
    'https://h/p?secret',
    'https://h/p?a=1&&b',
    'https://h/p?',
    'https://h/p?a==b',
    'https://user:pass@h:8443/p',
    'https://a@b:c@h/p?x=y#frag',
    'https://h/p#access_token=t',
    'https://h/users/@me?mail=a@b',
    'https://h\\@evil/p',
    'HTTP://U@H/P?Q=1',
    '/relative?token=t',
    'not a url',
    '',
    'https://h/ü?ключ=значение',
  ];

  it('vigil.redact_url, vigil.redact_userinfo and vigil.cap_message are redactUrl, redactUserinfo and capMessage', async () => {
    const { rows } = await pool.query<{ url: string; redacted: string; userinfo: string }>(
      `SELECT u AS url, vigil.redact_url(u) AS redacted, vigil.redact_userinfo(u) AS userinfo FROM unnest($1::text[]) AS u`,
      [URLS],
    );
    expect(rows).toEqual(URLS.map((url) => ({ url, redacted: redactUrl(url), userinfo: redactUserinfo(url) })));
    expect((await pool.query(`SELECT vigil.redact_url(NULL) AS r`)).rows).toEqual([{ r: null }]);
    const messages = [null, '', 'short', 'x'.repeat(MESSAGE_MAX_CHARS), 'x'.repeat(MESSAGE_MAX_CHARS + 1), '😀'.repeat(MESSAGE_MAX_CHARS + 5)];
    const capped = await pool.query<{ m: string | null }>(`SELECT vigil.cap_message(m) AS m FROM unnest($1::text[]) WITH ORDINALITY AS q(m, i) ORDER BY i`, [messages]);
    expect(capped.rows.map((r) => r.m)).toEqual(messages.map((m) => capMessage(m)));
  });

  it('every write stores URLs redacted and messages capped, whatever the caller passes; upsert_checks keeps allow_insecure_redirects and never stores userinfo', async () => {
    const separate = await server.createDatabase('vigil_redaction');
    const p = createPool({ connectionString: separate.url, applicationName: 'redaction-test', max: 2 });
    try {
      await migrate(p);
      const uid = '6a1b0e0e-0000-4000-8000-000000000007';
      const row = { ...upsert({ uid, url: 'https://user:pw@shop.example.com/health?token=t' }), allow_insecure_redirects: true };
      expect((await p.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([row])])).rows).toEqual([{ inserted: 1, updated: 0 }]);
      expect((await p.query(`SELECT url, allow_insecure_redirects FROM vigil.checks WHERE uid = $1`, [uid])).rows).toEqual([
        { url: 'https://REDACTED@shop.example.com/health?token=t', allow_insecure_redirects: true },
      ]);
      // The opt-in is part of the spec: changing it alone updates the row and makes it due.
      await p.query(`UPDATE vigil.checks SET next_due_at = now() + interval '1 hour' WHERE uid = $1`, [uid]);
      expect((await p.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([{ ...row, allow_insecure_redirects: false }])])).rows).toEqual([{ inserted: 0, updated: 1 }]);
      expect((await p.query(`SELECT allow_insecure_redirects, next_due_at <= now() AS due FROM vigil.checks WHERE uid = $1`, [uid])).rows).toEqual([
        { allow_insecure_redirects: false, due: true },
      ]);

      await p.query(`INSERT INTO vigil.webhook_receivers (name, url, events) VALUES ('all', 'https://hooks.example.com/all', '{check.down,check.up}')`);
      const long = 'y'.repeat(3000);
      const at = '2026-06-06T22:41:05.123Z';
      await p.query(`SELECT * FROM vigil.record_transition($1, 'shop', 'web', $2, 1, 'pending', 'down', $3, 503, 9, 'UnexpectedStatus', $4, 'check.down')`, [
        uid,
        'https://u:p@shop.example.com/health?token=t',
        at,
        long,
      ]);
      const t = await p.query(`SELECT url, message FROM vigil.transitions WHERE check_uid = $1`, [uid]);
      expect(t.rows).toEqual([{ url: 'https://REDACTED@shop.example.com/health?token=REDACTED', message: capMessage(long) }]);
      expect((await p.query(`SELECT last_message FROM vigil.checks WHERE uid = $1`, [uid])).rows).toEqual([{ last_message: capMessage(long) }]);
      const facts = { uid, namespace: 'shop', name: 'web', url: 'https://u:p@shop.example.com/health?token=t', from: 'pending', to: 'down', at: new Date(at) } as const;
      expect((await p.query(`SELECT payload FROM vigil.webhook_deliveries`)).rows).toEqual([
        { payload: webhookPayloadOf({ ...facts, code: 503, latencyMs: 9, reason: 'UnexpectedStatus', message: long }, 'check.down') },
      ]);
      // Any writer, not only the functions: the alerter's own queries, a hand-written row.
      await p.query(`UPDATE vigil.webhook_deliveries SET last_error = repeat('e', 3000)`);
      await p.query(
        `INSERT INTO vigil.webhook_attempts (delivery_id, attempt, started_at, duration_ms, error) SELECT id, 1, now(), 1, repeat('e', 3000) FROM vigil.webhook_deliveries`,
      );
      await p.query(`UPDATE vigil.checks SET url = 'http://a:b@shop.example.com/', last_message = repeat('m', 3000) WHERE uid = $1`, [uid]);
      await p.query(
        `INSERT INTO vigil.transitions (check_uid, namespace, name, url, generation, from_state, to_state, at, code, message)
         VALUES ($1, 'shop', 'web', 'https://shop.example.com/?k=v#f', 1, 'down', 'up', now(), 200, repeat('t', 3000))`,
        [uid],
      );
      const lengths = await p.query(
        `SELECT (SELECT char_length(last_error) FROM vigil.webhook_deliveries) AS delivery, (SELECT char_length(error) FROM vigil.webhook_attempts) AS attempt,
                (SELECT char_length(last_message) FROM vigil.checks) AS check, (SELECT url FROM vigil.checks) AS url,
                (SELECT char_length(message) FROM vigil.transitions WHERE to_state = 'up') AS transition, (SELECT url FROM vigil.transitions WHERE to_state = 'up') AS transition_url`,
      );
      expect(lengths.rows).toEqual([
        { delivery: MESSAGE_MAX_CHARS, attempt: MESSAGE_MAX_CHARS, check: MESSAGE_MAX_CHARS, url: 'http://REDACTED@shop.example.com/', transition: MESSAGE_MAX_CHARS, transition_url: 'https://shop.example.com/?k=REDACTED' },
      ]);
    } finally {
      await p.end();
    }
  });

  it('redacts and caps what was stored before it', async () => {
    const old = await server.createDatabase('vigil_before_0007');
    const p = createPool({ connectionString: old.url, applicationName: 'migration-0007-test', max: 2 });
    try {
      const all = await loadMigrations();
      await migrate(p, all.filter((m) => m.id < 7));
      const uid = '6a1b0e0e-0000-4000-8000-000000000070';
      const { allow_insecure_redirects: _new, ...before } = upsert({ uid, url: 'https://user:pw@shop.example.com/health?token=t' });
      await p.query(`SELECT * FROM vigil.upsert_checks($1)`, [JSON.stringify([before])]);
      await p.query(`INSERT INTO vigil.webhook_receivers (name, url, events) VALUES ('all', 'https://hooks.example.com/all', '{check.down,check.up}')`);
      await p.query(`SELECT * FROM vigil.record_transition($1, 'shop', 'web', $2, 1, 'pending', 'down', now(), 302, 9, 'TooManyRedirects', $3, 'check.down')`, [
        uid,
        'https://user:pw@shop.example.com/health?token=t',
        'more than 5 redirects (last to https://elsewhere.example.com/login?session=abc)',
      ]);
      await p.query(
        `INSERT INTO vigil.webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, alerter)
         SELECT id, 1, now(), 5, NULL, repeat('e', 2000), 'alerter-0' FROM vigil.webhook_deliveries`,
      );
      await migrate(p, all);
      expect((await p.query(`SELECT url, last_message, allow_insecure_redirects FROM vigil.checks`)).rows).toEqual([
        {
          url: 'https://REDACTED@shop.example.com/health?token=t',
          last_message: 'more than 5 redirects (last to https://elsewhere.example.com/login?session=REDACTED)',
          allow_insecure_redirects: false,
        },
      ]);
      const t = await p.query(`SELECT url, message FROM vigil.transitions`);
      expect(t.rows).toEqual([
        { url: 'https://REDACTED@shop.example.com/health?token=REDACTED', message: 'more than 5 redirects (last to https://elsewhere.example.com/login?session=REDACTED)' },
      ]);
      const d = await p.query<{ payload: CheckWebhookPayload }>(`SELECT payload FROM vigil.webhook_deliveries`);
      expect(d.rows.map((r) => [r.payload.data.check.url, r.payload.data.message])).toEqual([[t.rows[0].url, t.rows[0].message]]);
      expect((await p.query(`SELECT char_length(error) AS n FROM vigil.webhook_attempts`)).rows).toEqual([{ n: MESSAGE_MAX_CHARS }]);
    } finally {
      await p.end();
    }
  });
});
