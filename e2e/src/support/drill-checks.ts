import { expect } from '@jest/globals';
import type pg from 'pg';
import { eventFor, type CheckState, type CheckWebhookPayload } from '@vigil/contracts';
import { waitFor, type VigilStack, type WebhookReceiver } from '@vigil/testing';
import { listChecks } from './kube.js';

/**
 * What the fault drills expect of the system after each drill: the
 * transitions each check went through (from `pending`), and which checks
 * exist. Each check is a name in one namespace.
 */
export class DrillExpectations {
  /** to_state of every transition of a check, in order. */
  readonly transitions = new Map<string, CheckState[]>();
  /** Checks that no longer exist (their transitions stay). */
  readonly deleted = new Set<string>();

  constructor(readonly namespace: string) {}

  transition(name: string, to: 'up' | 'down'): void {
    this.transitions.set(name, [...(this.transitions.get(name) ?? []), to]);
  }

  get current(): Record<string, string> {
    const states: Record<string, string> = {};
    for (const [name, path] of this.transitions) if (!this.deleted.has(name)) states[name] = path.at(-1)!;
    return states;
  }
}

type Payload = CheckWebhookPayload;

/**
 * After a drill: every transition is stored (exactly the expected ones, in
 * order), every one was delivered to the receiver with a verified signature
 * (repeats only with the same webhook-id and the same body), and the CR
 * statuses converge.
 */
export async function expectConverged(stack: VigilStack, db: pg.Pool, expected: DrillExpectations, timeoutMs = 90_000): Promise<void> {
  const { namespace } = expected;
  const stored = async () => {
    const { rows } = await db.query<{ name: string; to_state: string }>(
      `SELECT name, to_state FROM vigil.transitions WHERE namespace = $1 ORDER BY id`,
      [namespace],
    );
    const paths: Record<string, string[]> = {};
    for (const r of rows) (paths[r.name] ??= []).push(r.to_state);
    return paths;
  };
  const want = Object.fromEntries(expected.transitions);
  await waitFor(`transitions ${JSON.stringify(want)} stored`, async () => JSON.stringify(sortKeys(await stored())) === JSON.stringify(sortKeys(want)), {
    timeoutMs,
    intervalMs: 500,
  });
  expect(sortKeys(await stored())).toEqual(sortKeys(want));

  const deliveryIds = async () =>
    (
      await db.query<{ id: string }>(
        `SELECT d.id FROM vigil.webhook_deliveries d JOIN vigil.transitions t ON t.id = d.transition_id WHERE t.namespace = $1`,
        [namespace],
      )
    ).rows
      .map((r) => r.id)
      .sort();
  const receivedIds = () => deliveredTo(stack.receiver, namespace).map((w) => w.id).sort();
  await waitFor(
    'every transition delivered to the receiver',
    async () => {
      const ids = await deliveryIds();
      return ids.length === [...expected.transitions.values()].flat().length && JSON.stringify(ids) === JSON.stringify(receivedIds());
    },
    { timeoutMs, intervalMs: 500 },
  );
  expect(receivedIds()).toEqual(await deliveryIds());
  // Arrived is not enough: the alerter saw the receiver accept each one.
  const undelivered = async () =>
    (
      await db.query<{ id: string; status: string }>(
        `SELECT d.id, d.status FROM vigil.webhook_deliveries d JOIN vigil.transitions t ON t.id = d.transition_id
          WHERE t.namespace = $1 AND d.status <> 'delivered'`,
        [namespace],
      )
    ).rows;
  await waitFor('every delivery recorded as delivered', async () => (await undelivered()).length === 0, { timeoutMs, intervalMs: 500 });
  const events = deliveredTo(stack.receiver, namespace).map((w) => {
    const p = w.payload as Payload;
    return `${p.data.check.name}:${p.type}`;
  });
  const wantEvents = [...expected.transitions].flatMap(([name, path]) => path.map((to) => `${name}:${eventFor(to)}`));
  expect(events.sort()).toEqual(wantEvents.sort());
  expectOnlyVerifiedRepeats(stack.receiver);

  const states = async () =>
    Object.fromEntries((await listChecks(stack.plane, namespace)).map((c) => [c.metadata.name, c.status?.state]));
  await waitFor(`CR statuses ${JSON.stringify(expected.current)}`, async () => JSON.stringify(sortKeys(await states())) === JSON.stringify(sortKeys(expected.current)), {
    timeoutMs,
    intervalMs: 1_000,
  });
  expect(sortKeys(await states())).toEqual(sortKeys(expected.current));
}

/** Unique verified deliveries about checks of `namespace`. */
export function deliveredTo(receiver: WebhookReceiver, namespace: string) {
  return receiver.uniqueVerified().filter((w) => (w.payload as Payload | undefined)?.data?.check?.namespace === namespace);
}

/** Every attempt the receiver got for one event of one check, verified or not. */
export function attemptsFor(receiver: WebhookReceiver, namespace: string, name: string, type: string) {
  return receiver.received.filter((w) => {
    const p = w.payload as Payload | undefined;
    return p?.data?.check?.namespace === namespace && p.data.check.name === name && p.type === type;
  });
}

/** Every delivery verified; a webhook-id seen more than once always carried the same body. */
export function expectOnlyVerifiedRepeats(receiver: WebhookReceiver): void {
  expect(receiver.received.filter((r) => !r.verified)).toEqual([]);
  const bodies = new Map<string, Set<string>>();
  for (const r of receiver.received) bodies.set(r.id, (bodies.get(r.id) ?? new Set()).add(r.body));
  expect([...bodies].filter(([, b]) => b.size !== 1)).toEqual([]);
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
