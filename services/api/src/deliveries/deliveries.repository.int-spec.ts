import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WEBHOOK_ID_PATTERN, webhookPayloadOf } from '@vigil/contracts';
import { createPool, migrate, type Pool } from '@vigil/db';
import { PostgresServer } from '@vigil/testing';
import { insertCheck, insertDelivery, insertTransition } from '../testing/seed.js';
import { DeliveriesRepository } from './deliveries.repository.js';

// The delivery log as the api reads it, seeded through the prober's functions
// (vigil.append_transition, vigil.enqueue_webhooks): the payload shown is the
// body the contract defines. (libs/db/src/outbox-drift.int-spec.ts runs this
// file against a changed outbox write and expects it to fail.)

let server: PostgresServer;
let pool: Pool;

beforeAll(async () => {
  server = await PostgresServer.start();
  const db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'api-test', max: 2 });
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await server?.destroy();
});

describe('DeliveriesRepository', () => {
  it('finds a delivery with its transition and the webhook body the contract defines', async () => {
    const uid = await insertCheck(pool, { namespace: 'team-a', name: 'web', state: 'down' });
    const at = new Date('2026-03-01T10:00:00.250Z');
    const transition = { uid, namespace: 'team-a', name: 'web', url: 'https://web.internal.example/health', from: 'up', to: 'down', at, reason: 'Timeout', message: 'no response within 10 s' } as const;
    const id = await insertDelivery(pool, { transitionId: await insertTransition(pool, transition), receiver: 'ops-slack', event: 'check.down', status: 'pending' });
    expect(id).toMatch(WEBHOOK_ID_PATTERN);
    const found = await new DeliveriesRepository(pool).find(id);
    expect(found).toMatchObject({ id, receiver: 'ops-slack', event_type: 'check.down', status: 'pending', namespace: 'team-a', name: 'web', from_state: 'up', to_state: 'down', at });
    expect(found!.payload).toEqual(webhookPayloadOf({ ...transition, code: 0, latencyMs: null }, 'check.down'));
  });
});
