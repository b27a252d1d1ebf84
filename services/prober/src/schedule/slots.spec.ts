import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { nextSlot, phaseOffset, slotAtOrAfter } from './slots.js';

const uid = '3f2a9c1e-0b7d-4e55-9a1c-2b3c4d5e6f70';

describe('the slot grid', () => {
  it('places a check at a stable phase within its interval', () => {
    const phase = phaseOffset(uid, 30_000);
    expect(phase).toBe(parseInt('3f2a9c1e0b7d', 16) % 30_000);
    expect(phaseOffset(uid, 30_000)).toBe(phase);
    expect(slotAtOrAfter(1_000_000_000_000, uid, 30_000) % 30_000).toBe(phase % 30_000);
  });

  it('does not drift: the next slot after an on-grid slot is exactly one interval later, however late the probe ran', () => {
    const due = slotAtOrAfter(1_700_000_000_000, uid, 5_000);
    expect(nextSlot(due, uid, 5_000, due + 10)).toBe(due + 5_000);
    expect(nextSlot(due, uid, 5_000, due + 2_400)).toBe(due + 5_000);
    let slot = due;
    for (let i = 0; i < 1000; i++) slot = nextSlot(slot, uid, 5_000, slot + 37);
    expect(slot).toBe(due + 1000 * 5_000);
  });

  it('puts a first (off-grid) probe at least one interval before the next', () => {
    for (let i = 0; i < 200; i++) {
      const id = randomUUID();
      const first = 1_700_000_000_123 + i * 7;
      const next = nextSlot(first, id, 5_000, first);
      expect(next - first).toBeGreaterThanOrEqual(5_000);
      expect(next - first).toBeLessThan(10_000);
      expect(next).toBe(slotAtOrAfter(next, id, 5_000));
    }
  });

  it('skips slots a replica fell far behind on instead of bursting', () => {
    const due = slotAtOrAfter(1_700_000_000_000, uid, 5_000);
    const now = due + 12_000;
    const next = nextSlot(due, uid, 5_000, now);
    expect(next).toBeGreaterThanOrEqual(now + 2_500);
    expect((next - due) % 5_000).toBe(0);
  });

  it('spreads ten thousand 30 s checks evenly over the interval', () => {
    const perSecond = new Array<number>(30).fill(0);
    for (let i = 0; i < 10_000; i++) perSecond[Math.floor(phaseOffset(randomUUID(), 30_000) / 1000)]!++;
    // 333 expected per second; a uniform spread stays well within ±25 %.
    expect(Math.max(...perSecond)).toBeLessThan(420);
    expect(Math.min(...perSecond)).toBeGreaterThan(250);
  });
});
