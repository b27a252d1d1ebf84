import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VigilStack, WORKSPACE_ROOT, waitForReady, type ServiceProcess } from '@vigil/testing';
import { kubectlApply } from './support/kube.js';
import { RoundRobinProxy } from './support/round-robin-proxy.js';

// Scenario 6, rollout without 502: two api replicas behind a round-robin
// proxy are replaced one at a time the way Kubernetes does it with a preStop
// sleep — out of rotation first, SIGTERM after the delay, the replacement back
// in rotation once /readyz answers — while a client polls the status page.
// Parameters: 2 api replicas, 2 s preStop delay, a sequential client
// alternating `/` and `/api/v1/summary` with no pause between requests.
const PRE_STOP_MS = 2_000;
const PATHS = ['/', '/api/v1/summary'];

let stack: VigilStack;
let proxy: RoundRobinProxy;

beforeAll(async () => {
  stack = await VigilStack.start({ apis: 2, probers: 1, alerters: 1 });
  proxy = await RoundRobinProxy.start();
  for (const name of ['api-0', 'api-1']) proxy.add(name, apiPort(stack.services.get(name)!));
  await kubectlApply(stack.plane, ['-n', 'default', '-f', join(WORKSPACE_ROOT, 'examples/')]);
});

afterAll(async () => {
  await proxy?.stop();
  await stack?.stop();
});

function apiPort(service: ServiceProcess): number {
  if (service.port === undefined) throw new Error(`${service.name} has no api port`);
  return service.port;
}

interface Outcome {
  path: string;
  status: number;
  error?: string;
  at: number;
}

/** Requests the paths in turn until `stop.done`, recording every outcome. */
async function pollContinuously(stop: { done: boolean }, outcomes: Outcome[]): Promise<void> {
  for (let i = 0; !stop.done; i++) {
    const path = PATHS[i % PATHS.length]!;
    try {
      const response = await fetch(`${proxy.url}${path}`, { signal: AbortSignal.timeout(10_000) });
      const body = await response.text();
      const wellFormed = path === '/' ? body.includes('<html') : Boolean((JSON.parse(body) as { state?: string }).state);
      outcomes.push({ path, status: response.status, at: Date.now(), ...(wellFormed ? {} : { error: `unexpected body: ${body.slice(0, 200)}` }) });
    } catch (err) {
      outcomes.push({ path, status: 0, error: (err as Error).message, at: Date.now() });
    }
  }
}

/** Kubernetes' order for a terminating pod with a preStop sleep, then its replacement. */
async function replace(name: 'api-0' | 'api-1'): Promise<{ exitCode: number | NodeJS.Signals }> {
  const old = stack.services.get(name)!;
  proxy.remove(name);
  await sleep(PRE_STOP_MS);
  await stack.kill(name, 'SIGTERM');
  const exitCode = await old.exited;
  const replacement = await stack.startInstance('api', Number(name.split('-')[1]));
  await waitForReady(replacement, 60_000);
  proxy.add(name, apiPort(replacement));
  return { exitCode };
}

describe('rollout without 502', () => {
  it('holds a streak of 200s from the status page and the summary while both api replicas are replaced one at a time', async () => {
    const outcomes: Outcome[] = [];
    const stop = { done: false };
    const client = pollContinuously(stop, outcomes);
    await sleep(2_000);
    const started = Date.now();
    const first = await replace('api-0');
    const between = Date.now();
    const second = await replace('api-1');
    const finished = Date.now();
    await sleep(2_000);
    stop.done = true;
    await client;

    expect(first.exitCode).toBe(0);
    expect(second.exitCode).toBe(0);
    expect(proxy.inRotation.sort()).toEqual(['api-0', 'api-1']);
    const failures = outcomes.filter((o) => o.status !== 200 || o.error);
    expect(failures).toEqual([]);
    // The streak spans both replacements, with both paths served throughout.
    const during = (from: number, to: number) => outcomes.filter((o) => o.at >= from && o.at <= to);
    expect(during(started, between).length).toBeGreaterThan(10);
    expect(during(between, finished).length).toBeGreaterThan(10);
    for (const path of PATHS) expect(outcomes.filter((o) => o.path === path).length).toBeGreaterThan(10);
  });
});
