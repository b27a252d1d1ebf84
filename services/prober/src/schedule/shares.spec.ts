import { describe, expect, it } from '@jest/globals';
import { NamespaceShares } from './shares.js';

function shares(concurrency: number, minShare = 2) {
  let now = 1_000_000;
  const s = new NamespaceShares({ concurrency, minShare, wantingMs: 5_000, now: () => now });
  return { s, advance: (ms: number) => (now += ms) };
}

function fill(s: NamespaceShares, namespace: string): number {
  let n = 0;
  while (s.tryAcquire(namespace)) n++;
  return n;
}

describe('NamespaceShares', () => {
  it('lets a namespace alone hold half the replica, keeping the other half for namespaces not running yet', () => {
    const { s } = shares(32);
    expect(fill(s, 'a')).toBe(16);
    expect(s.atShare()).toBe(1);
    // b finds room at once, with a smaller share now that two are active.
    expect(fill(s, 'b')).toBe(10);
    expect(s.share()).toBe(10);
  });

  it('shrinks every share as namespaces become active; a namespace above its share starts nothing until it is below', () => {
    const { s } = shares(32);
    fill(s, 'a');
    fill(s, 'b');
    expect(s.tryAcquire('a')).toBe(false);
    for (let i = 0; i < 6; i++) s.release('a');
    expect(s.inFlightOf('a')).toBe(10);
    expect(s.tryAcquire('a')).toBe(false);
    s.release('a');
    expect(s.tryAcquire('a')).toBe(true);
  });

  it('counts a refused namespace as active for a while, so the others stay shrunk while it waits for room', () => {
    const { s, advance } = shares(30);
    expect(fill(s, 'a')).toBe(15);
    expect(fill(s, 'b')).toBe(10);
    for (let i = 0; i < 10; i++) s.release('b');
    // b runs nothing now, but was refused a slot: a's share stays at floor(30 / 3).
    expect(s.activeNamespaces()).toEqual(new Set(['a', 'b']));
    expect(s.share('a')).toBe(10);
    advance(6_000);
    expect(s.activeNamespaces()).toEqual(new Set(['a']));
    expect(s.share('a')).toBe(15);
  });

  it('lets a due slot wait briefly for room: served as soon as a slot of its namespace frees, refused after the wait', async () => {
    const { s } = shares(4, 1);
    expect(fill(s, 'a')).toBe(2);
    const served = s.acquire('a', 1_000);
    const refused = s.acquire('a', 20);
    expect(s.waitingCount()).toBe(2);
    s.release('a');
    await expect(served).resolves.toBe(true);
    await expect(refused).resolves.toBe(false);
    expect(s.waitingCount()).toBe(0);
    expect(s.inFlightOf('a')).toBe(2);
    // Refused: claimed precisely from now on.
    expect(s.claimRooms(new Map()).namespaces).toEqual(['a']);
  });

  it('refuses every waiting slot at shutdown', async () => {
    const { s } = shares(2, 1);
    fill(s, 'a');
    const waiting = [s.acquire('a', 60_000), s.acquire('a', 60_000)];
    // b has room in its own share: served at once, never waiting.
    await expect(s.acquire('b', 60_000)).resolves.toBe(true);
    s.refuseWaiting();
    await expect(Promise.all(waiting)).resolves.toEqual([false, false]);
  });

  it('never goes below the minimum share, however many namespaces are active', () => {
    const { s } = shares(16, 3);
    for (let i = 0; i < 20; i++) expect(s.tryAcquire(`ns-${i}`)).toBe(true);
    expect(s.share()).toBe(3);
    expect(fill(s, 'ns-0')).toBe(2);
  });

  it('never exceeds the replica’s concurrency', () => {
    const { s } = shares(1, 4);
    expect(fill(s, 'a')).toBe(1);
  });

  it('limits claims only for namespaces refused a slot recently, to what they can run now', () => {
    const { s, advance } = shares(32);
    for (let i = 0; i < 3; i++) s.tryAcquire('fast');
    // share with two active: floor(32 / 3) = 10; slow fills it and is refused once.
    expect(fill(s, 'slow')).toBe(10);
    expect(s.claimRooms(new Map())).toEqual({ namespaces: ['slow'], rooms: [0] });
    for (let i = 0; i < 4; i++) s.release('slow');
    expect(s.claimRooms(new Map([['slow', 1]]))).toEqual({ namespaces: ['slow'], rooms: [3] });
    advance(6_000);
    // fast, never refused, and slow after the window: limited only by the replica's claim limit.
    expect(s.claimRooms(new Map())).toEqual({ namespaces: [], rooms: [] });
  });
});
