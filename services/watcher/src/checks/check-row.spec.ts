import { describe, expect, it } from '@jest/globals';
import type { UptimeCheck } from '@vigil/k8s';
import { InvalidCheckError, timeoutCapMessage, toCheckRow } from './check-row.js';

function check(spec: Partial<UptimeCheck['spec']>, extra: Partial<UptimeCheck> = {}): UptimeCheck {
  return {
    apiVersion: 'vigil.dev/v1alpha1',
    kind: 'UptimeCheck',
    metadata: { name: 'web', namespace: 'shop', uid: '0b0f6a4e-51a4-4a57-9f39-0d5e0a4e7a11', generation: 3, labels: { team: 'payments' } },
    spec: {
      url: 'https://example.com',
      method: 'GET',
      interval: '30s',
      timeout: '10s',
      expect: { statusCodes: ['200-399'] },
      failureThreshold: 1,
      successThreshold: 1,
      paused: false,
      statusPage: { publish: true },
      ...spec,
    },
    ...extra,
  };
}

describe('toCheckRow', () => {
  it('copies what probers and the status page need, with durations in ms', () => {
    const row = toCheckRow(
      check({
        method: 'HEAD',
        headers: { 'X-Probe': 'vigil' },
        interval: '1h30m',
        timeout: '500ms',
        expect: { statusCodes: ['200', '300-308'], bodyContains: 'ok' },
        failureThreshold: 3,
        successThreshold: 2,
        paused: true,
        allowInsecureRedirects: true,
        statusPage: { publish: false, displayName: 'Shop', group: 'Public' },
      }),
    );
    expect(row).toEqual({
      uid: '0b0f6a4e-51a4-4a57-9f39-0d5e0a4e7a11',
      namespace: 'shop',
      name: 'web',
      generation: 3,
      labels: { team: 'payments' },
      url: 'https://example.com',
      method: 'HEAD',
      headers: { 'X-Probe': 'vigil' },
      interval_ms: 5_400_000,
      timeout_ms: 500,
      expect_status_codes: ['200', '300-308'],
      expect_body_contains: 'ok',
      failure_threshold: 3,
      success_threshold: 2,
      paused: true,
      publish: false,
      display_name: 'Shop',
      group_name: 'Public',
      allow_insecure_redirects: true,
      seed_state: null,
      seed_state_since: null,
    });
  });

  it('defaults allowInsecureRedirects to false for an object stored before the field existed', () => {
    expect(toCheckRow(check({})).allow_insecure_redirects).toBe(false);
  });

  it('never stores userinfo: an object stored before the CRD refused it keeps REDACTED@ (the prober reports CredentialsInUrl)', () => {
    expect(toCheckRow(check({ url: 'https://user:s3cret@example.com/health?token=t' })).url).toBe('https://REDACTED@example.com/health?token=t');
  });

  it('seeds the state from an existing status', () => {
    const row = toCheckRow(check({}, { status: { state: 'down', since: '2026-06-06T22:41:05Z', code: 0 } }));
    expect([row.seed_state, row.seed_state_since]).toEqual(['down', '2026-06-06T22:41:05Z']);
  });

  it('ignores a status without a known state', () => {
    const row = toCheckRow(check({}, { status: { since: '2026-06-06T22:41:05Z' } }));
    expect([row.seed_state, row.seed_state_since]).toEqual([null, null]);
  });

  it.each([
    ['an interval below 5s', { interval: '1s' }],
    ['a timeout not below the interval', { interval: '10s', timeout: '10s' }],
    ['an unparsable interval', { interval: 'often' }],
    ['a failure threshold of 0', { failureThreshold: 0 }],
  ])('refuses %s, which the table would reject', (_what, spec) => {
    expect(() => toCheckRow(check(spec))).toThrow(InvalidCheckError);
  });

  it('caps a timeout above 60s (an object older than the CRD cap) and says why; 60s itself is kept', () => {
    const long = check({ interval: '5m', timeout: '90s' });
    expect(toCheckRow(long).timeout_ms).toBe(60_000);
    expect(timeoutCapMessage(long)).toBe('spec.timeout 90s is above the 60s cap: probed with a 60s timeout; set spec.timeout to at most 60s');
    const atCap = check({ interval: '5m', timeout: '60s' });
    expect(toCheckRow(atCap).timeout_ms).toBe(60_000);
    expect(timeoutCapMessage(atCap)).toBeUndefined();
  });
});
