import { describe, expect, it } from '@jest/globals';
import { buildStatus, lastDeliveryOf, type CheckSnapshot } from './check-status.js';

const base: CheckSnapshot = {
  uid: '7b0f5c56-3f0c-4c4c-9d8c-4d2f0f7a2a11',
  namespace: 'default',
  name: 'example',
  generation: 3,
  state: 'up',
  stateSince: new Date('2026-06-06T22:41:05.250Z'),
  code: 200,
  latencyMs: 89,
  reason: null,
  message: null,
  lastProbeAt: new Date('2026-06-06T22:45:00.999Z'),
};

describe('buildStatus', () => {
  it('reports an up check as Ready=True with the probe figures', () => {
    const { status, ready } = buildStatus(base, null);
    expect(status).toEqual({
      state: 'up',
      code: 200,
      latencyMs: 89,
      since: '2026-06-06T22:41:05Z',
      lastProbeTime: '2026-06-06T22:45:00Z',
      observedGeneration: 3,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Up', message: 'HTTP 200 in 89 ms', lastTransitionTime: '2026-06-06T22:41:05Z', observedGeneration: 3 },
      ],
    });
    expect(ready).toEqual({ status: 'True', since: base.stateSince });
    // No reason or message when up: under Server-Side Apply, leaving out a field the alerter applied before removes it.
    expect(status).not.toHaveProperty('reason');
    expect(status).not.toHaveProperty('message');
  });

  it('reports a down check as Ready=False with its reason, and pending as Unknown', () => {
    const down = buildStatus({ ...base, state: 'down', code: 0, latencyMs: 3002, reason: 'DNSFailure', message: 'cannot resolve broken.invalid' }, null).status;
    expect(down).toMatchObject({ state: 'down', code: 0, reason: 'DNSFailure', message: 'cannot resolve broken.invalid' });
    expect(down.conditions![0]).toMatchObject({ status: 'False', reason: 'DNSFailure', message: 'DNSFailure: cannot resolve broken.invalid' });
    const pending = buildStatus({ ...base, state: 'pending', code: null, latencyMs: null, lastProbeAt: null }, null).status;
    expect(pending.conditions![0]).toMatchObject({ status: 'Unknown', reason: 'Pending' });
    expect(pending).not.toHaveProperty('latencyMs');
    expect(pending).not.toHaveProperty('lastProbeTime');
    expect(pending.code).toBe(0);
  });

  it('keeps lastTransitionTime while the Ready status stays the same, and moves it when it changes', () => {
    const since = new Date('2026-06-01T00:00:00Z');
    const paused = buildStatus({ ...base, state: 'paused', stateSince: new Date('2026-06-07T00:00:00Z') }, { status: 'False', since });
    expect(paused.status.conditions![0]!.lastTransitionTime).toBe('2026-06-01T00:00:00Z');
    expect(paused.ready.since).toBe(since);
    const up = buildStatus(base, { status: 'False', since });
    expect(up.status.conditions![0]!.lastTransitionTime).toBe('2026-06-06T22:41:05Z');
  });

  it('never writes a condition reason Kubernetes would refuse, and caps the message', () => {
    const odd = buildStatus({ ...base, state: 'down', reason: 'not a reason!', message: 'x'.repeat(5000) }, null).status;
    expect(odd.conditions![0]!.reason).toBe('Down');
    expect(odd.message).toHaveLength(1024);
  });
});

describe('lastDeliveryOf', () => {
  it('calls a pending delivery with attempts a failure so far', () => {
    const updatedAt = new Date('2026-06-06T22:41:07.5Z');
    expect(lastDeliveryOf({ id: 'msg_1', eventType: 'check.down', status: 'pending', attempts: 2, updatedAt })).toEqual({
      id: 'msg_1',
      event: 'check.down',
      outcome: 'failed',
      attempts: 2,
      time: '2026-06-06T22:41:07Z',
    });
    expect(lastDeliveryOf({ id: 'msg_1', eventType: 'check.up', status: 'delivered', attempts: 1, updatedAt }).outcome).toBe('delivered');
  });
});
