import { describe, expect, it } from '@jest/globals';
import type { LookupAddress } from 'node:dns';
import { BlockedAddressError, DnsLookupError } from './errors.js';
import { guardedLookup, parseResolvConf, resolveGuarded, searchCandidates, type HostResolver } from './lookup.js';
import { createAddressPolicy } from './policy.js';

/** A resolver answering from a table, counting the names it was asked. */
function tableResolver(records: Record<string, { a?: string[]; aaaa?: string[]; error?: string }>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const answer = (host: string, kind: 'a' | 'aaaa') => {
    asked.push(`${kind}:${host}`);
    const record = records[host];
    if (!record) return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
    if (record.error) return Promise.reject(Object.assign(new Error(record.error), { code: record.error }));
    const list = record[kind];
    return list ? Promise.resolve(list) : Promise.reject(Object.assign(new Error('no data'), { code: 'ENODATA' }));
  };
  return { asked, resolve4: (h) => answer(h, 'a'), resolve6: (h) => answer(h, 'aaaa') };
}

const policy = createAddressPolicy();

describe('resolveGuarded', () => {
  const resolver = tableResolver({
    'public.test': { a: ['93.184.216.34'], aaaa: ['2606:2800::1'] },
    'metadata.test': { a: ['169.254.169.254'] },
    'mixed.test': { a: ['93.184.216.34', '169.254.169.254'] },
    'mapped.test': { aaaa: ['::ffff:a9fe:a9fe'] },
    'slow.test': { error: 'ETIMEOUT' },
  });

  it('returns every checked address, IPv4 first', async () => {
    expect(await resolveGuarded(policy, 'public.test', { resolver })).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800::1', family: 6 },
    ]);
    expect(await resolveGuarded(policy, 'PUBLIC.test.', { resolver, family: 6 })).toEqual([{ address: '2606:2800::1', family: 6 }]);
  });

  it('refuses a name when any one of its addresses is blocked', async () => {
    await expect(resolveGuarded(policy, 'metadata.test', { resolver })).rejects.toThrow(BlockedAddressError);
    await expect(resolveGuarded(policy, 'mixed.test', { resolver })).rejects.toMatchObject({ code: 'VIGIL_BLOCKED', address: '169.254.169.254', hostname: 'mixed.test' });
    await expect(resolveGuarded(policy, 'mapped.test', { resolver })).rejects.toMatchObject({ address: '::ffff:a9fe:a9fe' });
  });

  it('checks a blocked address even when the caller asked for the other family', async () => {
    await expect(resolveGuarded(policy, 'mixed.test', { resolver, family: 6 })).rejects.toThrow(BlockedAddressError);
  });

  it.each([
    ['localhost', '127.0.0.1'],
    ['localhost.', '127.0.0.1'],
    ['api.localhost', '127.0.0.1'],
    ['[::1]', '::1'],
    ['2852039166', '169.254.169.254'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['0251.0376.0251.0376', '169.254.169.254'],
    ['169.254.43518', '169.254.169.254'],
    ['127.1', '127.0.0.1'],
    ['[::ffff:169.254.169.254]', '::ffff:a9fe:a9fe'],
  ])('blocks %p (%s) without asking DNS', async (host, address) => {
    const local = tableResolver({});
    await expect(resolveGuarded(policy, host, { resolver: local })).rejects.toMatchObject({ code: 'VIGIL_BLOCKED', address });
    expect(local.asked).toEqual([]);
  });

  it('answers .invalid names negatively at once (RFC 6761)', async () => {
    const local = tableResolver({});
    await expect(resolveGuarded(policy, 'nothing.invalid', { resolver: local })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(local.asked).toEqual([]);
  });

  it('reports the most telling DNS failure', async () => {
    await expect(resolveGuarded(policy, 'unknown.test', { resolver })).rejects.toMatchObject({ code: 'ENOTFOUND', hostname: 'unknown.test' });
    await expect(resolveGuarded(policy, 'slow.test', { resolver })).rejects.toThrow(new DnsLookupError('ETIMEOUT', 'slow.test'));
    await expect(resolveGuarded(policy, 'bad name!', { resolver })).rejects.toMatchObject({ code: 'EBADNAME' });
  });

  it('lets an allowed loopback through', async () => {
    const allowLoopback = createAddressPolicy({ allow: ['127.0.0.0/8', '::1/128'] });
    expect(await resolveGuarded(allowLoopback, 'localhost')).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
  });
});

describe('search domains (a pod resolv.conf)', () => {
  const conf = parseResolvConf('nameserver 10.96.0.10\nsearch vigil.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');

  it('reads search and ndots as the system resolver does', () => {
    expect(conf).toEqual({ search: ['vigil.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 });
    expect(parseResolvConf('nameserver 1.1.1.1\n')).toEqual({ search: [], ndots: 1 });
  });

  it('tries the search domains first for a name with fewer dots than ndots, the name itself first otherwise', () => {
    expect(searchCandidates('web.demo', conf.search, conf.ndots)).toEqual([
      'web.demo.vigil.svc.cluster.local',
      'web.demo.svc.cluster.local',
      'web.demo.cluster.local',
      'web.demo',
    ]);
    expect(searchCandidates('a.b.c.d.e.f', conf.search, conf.ndots)[0]).toBe('a.b.c.d.e.f');
    expect(searchCandidates('web.demo', conf.search, conf.ndots, true)).toEqual(['web.demo']);
  });

  it('resolves a short name through the search list and still checks every address', async () => {
    const table = tableResolver({
      'web.demo.svc.cluster.local': { a: ['10.96.0.42'] },
      'meta.svc.cluster.local': { a: ['169.254.169.254'] },
    });
    const resolver: HostResolver = { ...table, candidates: (h) => searchCandidates(h, conf.search, conf.ndots) };
    const open = createAddressPolicy({ allow: ['10.0.0.0/8'] });
    expect(await resolveGuarded(open, 'web.demo', { resolver })).toEqual([{ address: '10.96.0.42', family: 4 }]);
    expect(table.asked.slice(0, 4)).toEqual(['a:web.demo.vigil.svc.cluster.local', 'aaaa:web.demo.vigil.svc.cluster.local', 'a:web.demo.svc.cluster.local', 'aaaa:web.demo.svc.cluster.local']);
    await expect(resolveGuarded(open, 'meta', { resolver })).rejects.toBeInstanceOf(BlockedAddressError);
    await expect(resolveGuarded(open, 'nowhere', { resolver })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    // A trailing dot: the name as written, no search.
    await expect(resolveGuarded(open, 'web.demo.', { resolver })).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('guardedLookup', () => {
  const resolver = tableResolver({ 'public.test': { a: ['93.184.216.34', '93.184.216.35'] }, 'metadata.test': { a: ['169.254.169.254'] } });
  const lookup = guardedLookup(policy, resolver);
  const call = (host: string, options: object) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
      lookup(host, options, (err, address, family) => resolve({ err, address, ...(family !== undefined ? { family } : {}) })),
    );

  it('answers in both net.connect shapes', async () => {
    expect(await call('public.test', {})).toEqual({ err: null, address: '93.184.216.34', family: 4 });
    expect(await call('public.test', { all: true })).toEqual({
      err: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '93.184.216.35', family: 4 },
      ],
    });
  });

  it('fails with BlockedAddressError', async () => {
    const { err } = await call('metadata.test', { all: true });
    expect(err).toBeInstanceOf(BlockedAddressError);
  });
});
