import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WEBHOOK_ID_PATTERN } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { PostgresServer } from '@vigil/testing';
import { migratedDatabase } from '../testing/alerter.js';
import { insertCheck, insertTransition } from '../testing/outbox.js';
import { upsertReceivers } from '../receivers/receivers.queries.js';
import { claimDueDeliveries } from './deliveries.queries.js';

// The outbox as the alerter reads it, without a process: the prober's write
// (vigil.record_transition, through the seed) and the alerter's claim. The
// bytes a claim returns are the bytes every attempt sends, so they must be the
// contract's body. (libs/db/src/outbox-drift.int-spec.ts runs this file against
// a changed outbox write and expects it to fail.)

let server: PostgresServer;
let pool: Pool;

beforeAll(async () => {
  server = await PostgresServer.start();
  ({ pool } = await migratedDatabase(server));
  const client = await pool.connect();
  try {
    await upsertReceivers(client, [{ name: 'ops', url: 'https://hooks.example.com/ops', namespaces: ['*'], matchLabels: {}, events: ['check.down', 'check.up'] }]);
  } finally {
    client.release();
  }
});

afterAll(async () => {
  await pool?.end();
  await server?.destroy();
});

describe('the outbox the prober writes', () => {
  it('is claimed with the webhook-id and the exact body of the contract', async () => {
    const check = await insertCheck(pool, { name: 'shop', namespace: 'team-a' });
    const down = await insertTransition(pool, check, { from: 'up', to: 'down', code: 503, latencyMs: 87, reason: 'UnexpectedStatus', message: 'HTTP 503', receivers: ['ops'] });
    const claimed = await claimDueDeliveries(pool, ['ops'], [5], 'alerter-test', 30_000);
    expect(claimed.map((c) => ({ ...c, body: JSON.parse(c.body) }))).toEqual([{ id: down.deliveryIds[0], receiver: 'ops', attempt: 1, body: down.payload }]);
    expect(claimed[0]!.id).toMatch(WEBHOOK_ID_PATTERN);
  });
});
