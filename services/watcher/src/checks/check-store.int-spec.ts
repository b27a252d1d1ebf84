import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { Registry } from 'prom-client';
import { CHANNELS } from '@vigil/contracts';
import { createPool, migrate, type Pool } from '@vigil/db';
import type { UptimeCheck } from '@vigil/k8s';
import { createLogger } from '@vigil/service-runtime';
import { PostgresServer, waitFor } from '@vigil/testing';
import { createWatcherMetrics, type WatcherMetrics } from '../metrics.js';
import type { CheckRef, StoredNotice } from '../kube/stored-condition.js';
import { CheckStore, type StoredReporter } from './check-store.js';

// The store against a real Postgres, fed directly: batching, NOTIFY and relist sweeps.

let server: PostgresServer;
let pool: Pool;
let url: string;

beforeAll(async () => {
  server = await PostgresServer.start();
  const db = await server.createDatabase();
  url = db.url;
  pool = createPool({ connectionString: url, applicationName: 'store-test', max: 4 });
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await server?.destroy();
});

let counter = 0;
function check(namespace: string, name: string, extra: Partial<UptimeCheck['spec']> = {}): UptimeCheck {
  counter++;
  return {
    apiVersion: 'vigil.dev/v1alpha1',
    kind: 'UptimeCheck',
    metadata: { name, namespace, uid: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`, generation: 1 },
    spec: { url: `https://${name}.example.com`, method: 'GET', interval: '30s', timeout: '10s', expect: { statusCodes: ['200-399'] }, failureThreshold: 1, successThreshold: 1, paused: false, statusPage: { publish: true }, ...extra },
  };
}

async function names(namespace: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(`SELECT name FROM vigil.checks WHERE namespace = $1 ORDER BY name`, [namespace]);
  return rows.map((r) => r.name);
}

/** Records what the store would write on each object. */
class RecordingReporter implements StoredReporter {
  readonly reports: Array<{ ref: CheckRef; notice: StoredNotice | null }> = [];
  observe(): void {}
  forget(): void {}
  report(ref: CheckRef, notice: StoredNotice | null): void {
    this.reports.push({ ref, notice });
  }
  /** The notices given for one object, nulls (stored as written) included. */
  of(uid: string): Array<StoredNotice | null> {
    return this.reports.filter((r) => r.ref.uid === uid).map((r) => r.notice);
  }
}

async function withStore(
  scopes: Array<string | null>,
  fn: (store: CheckStore, metrics: WatcherMetrics, notifications: () => number) => Promise<void>,
  reporter?: StoredReporter,
): Promise<void> {
  const metrics = createWatcherMetrics(new Registry());
  const store = new CheckStore(pool, scopes, createLogger('watcher', 'error'), metrics, () => true, reporter, { initialMs: 300, maxMs: 1000 });
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  let notified = 0;
  listener.on('notification', () => notified++);
  await listener.query(`LISTEN ${CHANNELS.checks}`);
  try {
    await fn(store, metrics, () => notified);
  } finally {
    await store.stop();
    await listener.end();
  }
}

const transactions = async (metrics: WatcherMetrics) => (await metrics.writeTransactions.get()).values[0]?.value ?? 0;

describe('CheckStore', () => {
  it('writes a list and the events that arrived with it as one transaction with one NOTIFY', async () => {
    await withStore(['a'], async (store, metrics, notifications) => {
      const listed = Array.from({ length: 200 }, (_, i) => check('a', `listed-${String(i).padStart(3, '0')}`));
      // Events queued before the writer runs: a create after the list, a delete and an edit of listed objects.
      store.replace('a', listed);
      store.upsert(check('a', 'created-after-list'));
      store.remove(listed[0]!);
      store.upsert({ ...listed[1]!, metadata: { ...listed[1]!.metadata, generation: 2 }, spec: { ...listed[1]!.spec, url: 'https://edited.example.com' } });
      store.start();
      await waitFor('the sync', () => store.synced);
      await waitFor('the NOTIFY', () => notifications() >= 1);
      expect(await transactions(metrics)).toBe(1);
      expect(notifications()).toBe(1);
      const rows = await names('a');
      expect(rows).toHaveLength(200);
      expect(rows).toContain('created-after-list');
      expect(rows).not.toContain('listed-000');
      const { rows: edited } = await pool.query(`SELECT url, generation FROM vigil.checks WHERE uid = $1`, [listed[1]!.metadata.uid]);
      expect(edited).toEqual([{ url: 'https://edited.example.com', generation: 2 }]);
    });
  });

  it('sweeps only its own scope, and a relist of unchanged objects writes nothing', async () => {
    const kept = check('c', 'other-scope');
    await withStore(['c'], async (store) => {
      store.start();
      store.replace('c', [kept]);
      await waitFor('scope c synced', () => store.synced);
    });
    await withStore(['b'], async (store, metrics, notifications) => {
      const objects = [check('b', 'one'), check('b', 'two')];
      store.start();
      store.replace('b', objects);
      await waitFor('the first sync', async () => (await names('b')).length === 2);
      const before = await pool.query(`SELECT uid, updated_at, xmin::text FROM vigil.checks ORDER BY uid`);
      await waitFor('the NOTIFY', () => notifications() === 1);
      store.replace('b', objects);
      store.upsert(objects[0]!); // unchanged: not even queued
      await waitFor('the second transaction', async () => (await transactions(metrics)) === 2);
      expect((await pool.query(`SELECT uid, updated_at, xmin::text FROM vigil.checks ORDER BY uid`)).rows).toEqual(before.rows);
      expect(notifications()).toBe(1);
      expect(await names('c')).toEqual(['other-scope']);
    });
  });

  it('isolates a row Postgres refuses (a NUL character): every other row of the batch is written, retried on backoff, stored once fixed', async () => {
    const reporter = new RecordingReporter();
    await withStore(
      ['poison'],
      async (store, metrics, notifications) => {
        const good = Array.from({ length: 100 }, (_, i) => check('poison', `good-${String(i).padStart(3, '0')}`));
        const bad = check('poison', 'bad', { statusPage: { publish: true, displayName: 'nul \u0000 here' } });
        store.replace('poison', [...good.slice(0, 50), bad, ...good.slice(50)]);
        store.start();
        await waitFor('the sync', () => store.synced);
        // One transaction, one NOTIFY: the bad row was bisected out, not the batch.
        expect(await transactions(metrics)).toBe(1);
        await waitFor('the NOTIFY', () => notifications() >= 1);
        expect(notifications()).toBe(1);
        expect(await names('poison')).toEqual(good.map((c) => c.metadata.name));
        const refused = reporter.of(bad.metadata.uid!);
        expect(refused).toHaveLength(1);
        expect(refused[0]).toMatchObject({ status: 'False', reason: 'StoreRefused', generation: 1 });
        expect(refused[0]!.message).toMatch(/22P05 .*unsupported Unicode escape sequence/);
        expect((await metrics.objectsRefused.get()).values).toEqual([expect.objectContaining({ labels: { reason: 'StoreRefused' }, value: 1 })]);
        expect((await metrics.objectsIsolated.get()).values[0]!.value).toBe(1);

        // Later changes of other objects flow; the isolated one is retried on its own backoff and refused again, counted once.
        store.upsert(check('poison', 'later'));
        await waitFor('the later check', async () => (await names('poison')).includes('later'));
        await waitFor('a retry of the isolated row', () => reporter.of(bad.metadata.uid!).length >= 2, { timeoutMs: 10_000 });
        expect((await metrics.objectsRefused.get()).values[0]!.value).toBe(1);

        // Fixed (a new generation): stored, and the condition cleared.
        store.upsert({ ...bad, metadata: { ...bad.metadata, generation: 2 }, spec: { ...bad.spec, statusPage: { publish: true, displayName: 'fine' } } });
        await waitFor('the fixed row', async () => (await names('poison')).includes('bad'));
        await waitFor('the clear', () => reporter.of(bad.metadata.uid!).at(-1) === null);
        expect((await metrics.objectsIsolated.get()).values[0]!.value).toBe(0);
      },
      reporter,
    );
  });

  it('caps a timeout above 60s and says so; an invalid spec is reported once, not stored', async () => {
    const reporter = new RecordingReporter();
    await withStore(
      ['capped'],
      async (store, metrics) => {
        const long = check('capped', 'long', { interval: '5m', timeout: '90s' });
        const invalid = check('capped', 'invalid', { interval: '10s', timeout: '10s' });
        store.replace('capped', [long, invalid]);
        store.upsert({ ...invalid, metadata: { ...invalid.metadata, resourceVersion: '2' } });
        store.start();
        await waitFor('the sync', () => store.synced);
        const { rows } = await pool.query(`SELECT name, timeout_ms FROM vigil.checks WHERE namespace = 'capped'`);
        expect(rows).toEqual([{ name: 'long', timeout_ms: 60_000 }]);
        expect(reporter.of(long.metadata.uid!)).toEqual([expect.objectContaining({ status: 'True', reason: 'TimeoutCapped', message: expect.stringMatching(/90s is above the 60s cap/) })]);
        expect(reporter.of(invalid.metadata.uid!)).toEqual([expect.objectContaining({ status: 'False', reason: 'InvalidSpec', message: expect.stringMatching(/timeout must be positive and less than interval/) })]);
        expect((await metrics.objectsRefused.get()).values).toEqual([expect.objectContaining({ labels: { reason: 'InvalidSpec' }, value: 1 })]);
        expect((await metrics.objectsIsolated.get()).values[0]!.value).toBe(1);
      },
      reporter,
    );
  });
});
