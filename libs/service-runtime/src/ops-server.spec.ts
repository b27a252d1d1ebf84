import { afterEach, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Counter } from 'prom-client';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { startOpsServer, type OpsServer } from './ops-server.js';

const quiet = pino({ level: 'silent' });
let server: OpsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the ops server', () => {
  it('serves Prometheus metrics with the service label, liveness and readiness', async () => {
    const registry = createMetricsRegistry('demo');
    new Counter({ name: 'vigil_demo_total', help: 'demo', registers: [registry] }).inc(3);
    let ready = false;
    server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      logger: quiet,
      ready: () => ({ ok: ready, checks: { postgres: ready ? 'ok' : 'connection refused' } }),
    });
    const base = `http://127.0.0.1:${server.port}`;

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('vigil_demo_total{service="demo"} 3');

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'unavailable', checks: { postgres: 'connection refused' } });
    ready = true;
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ok', checks: { postgres: 'ok' } });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/readyz`, { method: 'POST' })).status).toBe(405);
  });

  it('reports a throwing readiness check as 503 instead of crashing', async () => {
    server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      registry: createMetricsRegistry('demo'),
      logger: quiet,
      ready: () => {
        throw new Error('boom');
      },
    });
    const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'unavailable', error: 'boom' });
  });
});

describe('the logger', () => {
  it('writes one JSON object per line with service, level label and ISO time, and redacts secrets', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('demo', 'info', sink);
    logger.debug('hidden');
    logger.info({ receiver: { name: 'ops', secret: 'whsec_abc' }, token: 'eyJ' }, 'delivered');
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'info', service: 'demo', msg: 'delivered', token: '<redacted>', receiver: { name: 'ops', secret: '<redacted>' } });
    expect(new Date(entry.time as string).toISOString()).toBe(entry.time);
  });
});
