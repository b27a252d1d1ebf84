import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { normaliseHost } from './address.js';
import { BlockedAddressError, DnsLookupError } from './errors.js';
import type { AddressPolicy } from './policy.js';

/** What the guard needs from a resolver; `dns.promises.Resolver` has it. */
export interface HostResolver {
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
  /** The names to ask for `hostname`, in order (search domains); absent: the name alone. */
  candidates?(hostname: string): string[];
}

/** `search` and `options ndots:` of a resolv.conf, as the system resolver reads them. */
export function parseResolvConf(text: string): { search: string[]; ndots: number } {
  let search: string[] = [];
  let ndots = 1;
  for (const line of text.split('\n')) {
    const [key, ...values] = line.trim().split(/\s+/);
    if (key === 'search' || key === 'domain') search = values.map((d) => d.toLowerCase().replace(/\.+$/, '')).filter(Boolean);
    if (key === 'options') {
      for (const o of values) if (o.startsWith('ndots:')) ndots = Math.min(15, Number.parseInt(o.slice(6), 10) || 0);
    }
  }
  return { search, ndots };
}

/**
 * The names the system resolver tries for `host`, in its order: with fewer
 * dots than `ndots`, each search domain first and the name as given last;
 * otherwise the name first. A name written with a trailing dot is absolute.
 * In a pod (ndots:5, search <ns>.svc.cluster.local svc.cluster.local ...)
 * this is what makes `web.demo` resolve, as it does for getaddrinfo.
 */
export function searchCandidates(host: string, search: readonly string[], ndots: number, absolute = false): string[] {
  if (absolute || search.length === 0) return [host];
  const dots = host.split('.').length - 1;
  const searched = search.map((domain) => `${host}.${domain}`);
  return dots >= ndots ? [host, ...searched] : [...searched, host];
}

/**
 * c-ares queries run on the event loop; `dns.lookup` (getaddrinfo) would queue
 * on libuv's four threadpool threads, so a few slow names stall every probe.
 * c-ares does not read /etc/hosts: `localhost` is answered below per RFC 6761.
 */
export function createResolver(
  options: { servers?: readonly string[]; timeoutMs?: number; tries?: number; search?: readonly string[]; ndots?: number } = {},
): HostResolver {
  const resolver = new dns.Resolver({ timeout: options.timeoutMs ?? 2_000, tries: options.tries ?? 2 });
  if (options.servers && options.servers.length > 0) resolver.setServers([...options.servers]);
  // c-ares' resolve4/resolve6 ignore resolv.conf's search list; apply it here
  // so short names behave as in the rest of the pod.
  const conf = options.search === undefined || options.ndots === undefined ? systemResolvConf() : { search: [], ndots: 1 };
  const search = [...(options.search ?? conf.search)];
  const ndots = options.ndots ?? conf.ndots;
  return Object.assign(resolver, { candidates: (hostname: string) => searchCandidates(hostname, search, ndots) });
}

function systemResolvConf(): { search: string[]; ndots: number } {
  try {
    return parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
  } catch {
    return { search: [], ndots: 1 };
  }
}

let defaultResolver: HostResolver | undefined;

export interface ResolveOptions {
  resolver?: HostResolver;
  /** Only addresses of this family (0: both). */
  family?: 0 | 4 | 6;
}

/**
 * Resolves `hostname` (a name or an IP literal in any spelling) and checks
 * every address against `policy`. Rejects with BlockedAddressError when any
 * address is blocked, so a name that mixes a public and a metadata address
 * cannot be used to reach either; rejects with DnsLookupError when the name
 * does not resolve. Resolves with the checked addresses, IPv4 first.
 */
export async function resolveGuarded(policy: AddressPolicy, hostname: string, options: ResolveOptions = {}): Promise<LookupAddress[]> {
  const host = normaliseHost(hostname);
  const family = options.family ?? 0;
  let addresses: LookupAddress[];
  const literal = literalFamily(host);
  if (literal !== 0) {
    addresses = [{ address: host, family: literal }];
  } else if (host === 'localhost' || host.endsWith('.localhost')) {
    // RFC 6761 §6.3: always loopback, never asked of DNS.
    addresses = [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ];
  } else if (host === 'invalid' || host.endsWith('.invalid')) {
    // RFC 6761 §6.4: an immediate negative answer, without waiting on DNS.
    throw new DnsLookupError('ENOTFOUND', hostname, 'the .invalid domain never resolves');
  } else if (host === '' || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host)) {
    throw new DnsLookupError('EBADNAME', hostname, 'not a valid host name');
  } else {
    const resolver = options.resolver ?? (defaultResolver ??= createResolver());
    const absolute = hostname.trim().endsWith('.');
    addresses = await queryCandidates(resolver, absolute ? [host] : (resolver.candidates?.(host) ?? [host]), hostname);
  }
  for (const { address } of addresses) {
    if (policy.isBlocked(address)) throw new BlockedAddressError(address, hostname);
  }
  const wanted = family === 0 ? addresses : addresses.filter((a) => a.family === family);
  if (wanted.length === 0) throw new DnsLookupError('ENODATA', hostname, `no IPv${family} address`);
  return wanted;
}

function literalFamily(host: string): 0 | 4 | 6 {
  if (isIPv4(host)) return 4;
  return host.includes(':') ? 6 : 0;
}

// The first candidate name with any address wins, as with the system
// resolver; a failure other than "no such name" stops the search.
async function queryCandidates(resolver: HostResolver, names: readonly string[], original: string): Promise<LookupAddress[]> {
  let last: unknown;
  for (const name of names) {
    try {
      return await query(resolver, name, original);
    } catch (err) {
      last = err;
      if (!(err instanceof DnsLookupError) || (err.code !== 'ENOTFOUND' && err.code !== 'ENODATA')) throw err;
    }
  }
  throw last;
}

// Both families are always asked and checked, whatever family the caller
// wants, so a blocked address cannot hide in the family nobody looked at.
async function query(resolver: HostResolver, host: string, original: string): Promise<LookupAddress[]> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const addresses: LookupAddress[] = [
    ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
  ];
  if (addresses.length > 0) return addresses;
  // "No such name" and "no record of this type" mean the same to a client; any
  // other failure (timeout, refused, SERVFAIL) says more, so it wins.
  const codes = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [String((r.reason as { code?: string }).code ?? 'EUNKNOWN')] : []));
  const telling = codes.find((c) => c !== 'ENOTFOUND' && c !== 'ENODATA');
  throw new DnsLookupError(telling ?? 'ENOTFOUND', original);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** The shape of `net.connect`'s and undici's `connect: { lookup }` option. */
export type GuardedLookupFunction = (hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback) => void;

/**
 * A `lookup` for net.connect, tls.connect or undici's `connect: { lookup }`:
 * resolves without the libuv threadpool, checks every address and hands the
 * socket only checked addresses. Note that net.connect does not call `lookup`
 * for a host that is already an IP address: check literals yourself, or use
 * `guardedConnector`, which does both.
 */
export function guardedLookup(policy: AddressPolicy, resolver?: HostResolver): GuardedLookupFunction {
  return (hostname, optionsOrCallback, maybeCallback) => {
    const callback = (typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback)!;
    const options: LookupOptions =
      typeof optionsOrCallback === 'number' ? { family: optionsOrCallback } : typeof optionsOrCallback === 'object' ? optionsOrCallback : {};
    const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    resolveGuarded(policy, hostname, { family, ...(resolver ? { resolver } : {}) }).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, options.all ? [] : ''),
    );
  };
}
