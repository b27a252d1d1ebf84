import { isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * Address normalisation. A guard that compares strings is bypassed by writing
 * the same address another way, so every address is brought to one canonical
 * form first: IPv4 in dotted quad, IPv6 without brackets or zone, and IPv6
 * forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64
 * `64:ff9b::a.b.c.d`, the deprecated IPv4-compatible `::a.b.c.d`) reduced to
 * that IPv4 address, which is where a packet to them ends up (or, for the
 * IPv4-compatible form, would on a stack that still translates it).
 */

export type Family = 4 | 6;

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
}

/**
 * The host part of a URL or a name handed to a lookup, in canonical form:
 * lower case, without brackets or trailing dots, and with every IPv4 spelling
 * the WHATWG URL parser accepts (`2852039166`, `0xa9fea9fe`,
 * `0251.0376.0251.0376`, `169.254.43518`, `127.1`) as a dotted quad. Names are
 * returned as names.
 */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (isIPv6(stripZone(h))) return canonicalIPv6(stripZone(h));
  h = h.replace(/\.+$/, '');
  if (h === '') return h;
  if (isIPv4(h)) return h;
  // The URL parser is the reference for what a client will connect to; a name
  // that only looks numeric to it (`0x1g`) stays a name and fails in DNS.
  try {
    const parsed = new URL(`http://${h}/`).hostname;
    if (isIPv4(parsed)) return parsed;
  } catch {
    // Not a valid URL host: the resolver will refuse it.
  }
  return h;
}

/** The IP address `host` denotes when it is a literal in any accepted spelling, else undefined. */
export function ipLiteral(host: string): string | undefined {
  const h = normaliseHost(host);
  return isIP(h) ? h : undefined;
}

/**
 * The address a packet to `address` actually reaches, for policy decisions:
 * IPv4-mapped, NAT64 and IPv4-compatible IPv6 addresses become their IPv4 address.
 * Throws on something that is not an IP address.
 */
export function effectiveAddress(address: string): { address: string; family: Family } {
  const h = normaliseHost(address);
  if (isIPv4(h)) return { address: h, family: 4 };
  if (!isIPv6(h)) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  const bytes = ipv6Bytes(h);
  const embedded = embeddedIPv4(bytes);
  if (embedded) return { address: embedded, family: 4 };
  return { address: formatIPv6(bytes), family: 6 };
}

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address means a single host); throws with the offending text. */
export function parseCidr(cidr: string): Cidr {
  const text = cidr.trim();
  const slash = text.indexOf('/');
  const rawAddress = slash === -1 ? text : text.slice(0, slash);
  const address = stripZone(rawAddress.toLowerCase());
  const family: Family | 0 = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (family === 0) throw new TypeError(`invalid CIDR ${JSON.stringify(cidr)}: ${JSON.stringify(rawAddress)} is not an IP address`);
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const rawPrefix = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(rawPrefix) || Number(rawPrefix) > max) {
      throw new TypeError(`invalid CIDR ${JSON.stringify(cidr)}: prefix must be 0..${max}`);
    }
    prefix = Number(rawPrefix);
  }
  return { address: family === 6 ? canonicalIPv6(address) : address, prefix, family };
}

/** Whether `address` lies in `cidr`, comparing the effective addresses (so `::ffff:10.0.0.1` is in `10.0.0.0/8`). */
export function ipInCidr(address: string, cidr: string | Cidr): boolean {
  const range = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const target = effectiveAddress(address);
  // An IPv6 range written for a mapped address (::ffff:0:0/96) must still see the mapped form.
  const candidates = [target];
  if (target.family === 4 && isIPv6(normaliseHost(address))) candidates.push({ address: canonicalIPv6(normaliseHost(address)), family: 6 });
  return candidates.some((c) => c.family === range.family && prefixEqual(addressBytes(c.address, c.family), addressBytes(range.address, range.family), range.prefix));
}

function prefixEqual(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit += 8) {
    const bits = Math.min(8, prefix - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((a[bit / 8]! & mask) !== (b[bit / 8]! & mask)) return false;
  }
  return true;
}

function addressBytes(address: string, family: Family): Uint8Array {
  return family === 4 ? Uint8Array.from(address.split('.').map(Number)) : ipv6Bytes(address);
}

function stripZone(address: string): string {
  const percent = address.indexOf('%');
  return percent === -1 ? address : address.slice(0, percent);
}

/** 16 bytes of a valid IPv6 address (checked by the caller with isIPv6). */
function ipv6Bytes(address: string): Uint8Array {
  let text = address;
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const doubleColon = text.indexOf('::');
  let groups: number[];
  if (doubleColon === -1) {
    groups = parse(text);
  } else {
    const head = parse(text.slice(0, doubleColon));
    const rest = parse(text.slice(doubleColon + 2));
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function canonicalIPv6(address: string): string {
  return formatIPv6(ipv6Bytes(address));
}

const NAT64_PREFIX = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * The IPv4 address carried by an IPv4-mapped (::ffff:0:0/96), NAT64
 * (64:ff9b::/96) or IPv4-compatible (::/96) address. `::` and `::1` are the
 * unspecified and loopback addresses, not IPv4-compatible ones (RFC 4291
 * 2.5.5.1), and stay IPv6.
 */
function embeddedIPv4(bytes: Uint8Array): string | undefined {
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  const nat64 = NAT64_PREFIX.every((b, i) => bytes[i] === b);
  const compatible = bytes.slice(0, 15).every((b) => b === 0) ? bytes[15]! > 1 : bytes.slice(0, 12).every((b) => b === 0);
  if (!mapped && !nat64 && !compatible) return undefined;
  return Array.from(bytes.slice(12)).join('.');
}
