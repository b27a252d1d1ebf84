import { describe, expect, it } from '@jest/globals';
import {
  CHANNELS,
  CHECK_EVENT_TYPES,
  CHECK_STATES,
  DELIVERY_STATUSES,
  EVENT_ON_ENTERING,
  PROBE_FAILURE_REASONS,
  READY_CONDITION,
  STORED_CONDITION,
  STORED_REASONS,
  FIELD_MANAGERS,
  deliveryOutcomeOf,
  eventFor,
  isCheckEventType,
  isCheckState,
  isWebhookId,
  MESSAGE_MAX_CHARS,
  capMessage,
  redactUrl,
  redactUserinfo,
} from './index.js';

describe('states and events', () => {
  it('fires check.up entering up and check.down entering down, nothing else', () => {
    expect(CHECK_STATES.map((s) => [s, eventFor(s)])).toEqual([
      ['up', 'check.up'],
      ['down', 'check.down'],
      ['pending', null],
      ['paused', null],
    ]);
  });

  it('maps every state, and every event is fired by some state', () => {
    expect(Object.keys(EVENT_ON_ENTERING).sort()).toEqual([...CHECK_STATES].sort());
    expect(new Set(Object.values(EVENT_ON_ENTERING).filter(Boolean))).toEqual(new Set(CHECK_EVENT_TYPES));
  });

  it('recognises only the spellings in the lists', () => {
    expect(CHECK_STATES.every(isCheckState)).toBe(true);
    expect([isCheckState('Up'), isCheckState('degraded'), isCheckState(undefined)]).toEqual([false, false, false]);
    expect(CHECK_EVENT_TYPES.every(isCheckEventType)).toBe(true);
    expect([isCheckEventType('check.paused'), isCheckEventType('up')]).toEqual([false, false]);
  });
});

describe('webhook ids', () => {
  it('are msg_ and 32 lowercase hex digits', () => {
    expect(isWebhookId('msg_0b0f6a4e51a44a579f390d5e0a4e7a11')).toBe(true);
    expect(isWebhookId('msg_2KWPBgLlAfxdpx2AI54pPJ85f4W')).toBe(false);
    expect(isWebhookId('msg_0B0F6A4E51A44A579F390D5E0A4E7A11')).toBe(false);
    expect(isWebhookId('0b0f6a4e51a44a579f390d5e0a4e7a11')).toBe(false);
  });
});

describe('deliveries', () => {
  it('show a pending delivery (after an attempt) as failed, the rest as their status', () => {
    expect(DELIVERY_STATUSES.map(deliveryOutcomeOf)).toEqual(['failed', 'delivered', 'dead', 'disabled']);
  });
});

describe('names', () => {
  it('channels are distinct Postgres identifiers', () => {
    const names = Object.values(CHANNELS);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
  });

  it('probe failure reasons are distinct Kubernetes condition reasons', () => {
    expect(new Set(PROBE_FAILURE_REASONS).size).toBe(PROBE_FAILURE_REASONS.length);
    for (const reason of PROBE_FAILURE_REASONS) expect(reason).toMatch(/^[A-Z][A-Za-z0-9]*$/);
  });

  it('the Stored condition has distinct Kubernetes condition reasons, none shared with probe reasons, and each writer its own field manager', () => {
    const reasons = Object.values(STORED_REASONS);
    expect(new Set(reasons).size).toBe(reasons.length);
    for (const reason of reasons) expect(reason).toMatch(/^[A-Z][A-Za-z0-9]*$/);
    expect(reasons.filter((r) => (PROBE_FAILURE_REASONS as readonly string[]).includes(r))).toEqual([]);
    expect(STORED_CONDITION).not.toBe(READY_CONDITION);
    expect(new Set(Object.values(FIELD_MANAGERS)).size).toBe(Object.values(FIELD_MANAGERS).length);
  });
});

describe('redaction', () => {
  it.each([
    ['https://example.com', 'https://example.com'],
    ['https://example.com/health', 'https://example.com/health'],
    ['https://h/p?token=secret', 'https://h/p?token=REDACTED'],
    ['https://h/p?token=secret&page=2', 'https://h/p?token=REDACTED&page=REDACTED'],
    ['https://h/p?secret', 'https://h/p?REDACTED'],
    ['https://h/p?a=1&&b', 'https://h/p?a=REDACTED&&REDACTED'],
    ['https://h/p?', 'https://h/p'],
    ['https://h/p?a==b', 'https://h/p?a=REDACTED'],
    ['https://user:pass@h:8443/p', 'https://REDACTED@h:8443/p'],
    ['https://user@h/p', 'https://REDACTED@h/p'],
    ['https://a@b:c@h/p?x=y#frag', 'https://REDACTED@h/p?x=REDACTED'],
    ['https://h/p#access_token=t', 'https://h/p'],
    ['https://h/users/@me?mail=a@b', 'https://h/users/@me?mail=REDACTED'],
    ['https://h\\@evil/p', 'https://h\\@evil/p'],
    ['/relative?token=t', '/relative?token=REDACTED'],
    ['not a url', 'not a url'],
    ['', ''],
  ])('%s → %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
    expect(redactUrl(redactUrl(url))).toBe(redacted);
  });

  it('replaces only userinfo for storage', () => {
    expect(redactUserinfo('https://u:p@h/p?token=t')).toBe('https://REDACTED@h/p?token=t');
    expect(redactUserinfo('https://h/@me?mail=a@b')).toBe('https://h/@me?mail=a@b');
    expect(redactUserinfo('mailto:a@b')).toBe('mailto:a@b');
  });

  it('caps messages at MESSAGE_MAX_CHARS code points, ending in an ellipsis', () => {
    expect(capMessage(null)).toBeNull();
    expect(capMessage('x'.repeat(MESSAGE_MAX_CHARS))).toBe('x'.repeat(MESSAGE_MAX_CHARS));
    const capped = capMessage('x'.repeat(5000));
    expect(capped).toHaveLength(MESSAGE_MAX_CHARS);
    expect(capped.endsWith('…')).toBe(true);
    // Astral characters count once, as Postgres counts them.
    expect(Array.from(capMessage('😀'.repeat(MESSAGE_MAX_CHARS)))).toHaveLength(MESSAGE_MAX_CHARS);
    expect(Array.from(capMessage('😀'.repeat(MESSAGE_MAX_CHARS + 1)))).toHaveLength(MESSAGE_MAX_CHARS);
  });
});
