import { BlockList } from 'node:net';
import { effectiveAddress, parseCidr, type Cidr } from './address.js';

/**
 * The addresses a probe or webhook must never reach unless an operator allows
 * them explicitly. Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) are
 * deliberately absent: in a cluster they are the services people monitor.
 */
export const DEFAULT_DENY_CIDRS: readonly string[] = Object.freeze([
  // Loopback: the prober's own pod (ops port, sidecars) and node-local agents.
  '127.0.0.0/8',
  '::1/128',
  // Link-local: cloud metadata (169.254.169.254 on AWS, GCP, Azure, OpenStack), the
  // EKS Pod Identity agent (169.254.170.23), node-local DNS caches.
  '169.254.0.0/16',
  'fe80::/10',
  // Cloud metadata outside link-local: AWS IMDS over IPv6, Alibaba Cloud metadata.
  'fd00:ec2::254/128',
  '100.100.100.200/32',
  // Unspecified and "this network": connecting to 0.0.0.0 or :: reaches the local host.
  '0.0.0.0/8',
  '::/128',
]);

export interface AddressPolicy {
  /** Whether a connection to `address` (an IP address in any spelling) must be refused. Anything that is not an IP address is blocked. */
  isBlocked(address: string): boolean;
  describe(): { deny: string[]; allow: string[] };
}

export interface AddressPolicyOptions {
  /** Ranges to refuse; defaults to DEFAULT_DENY_CIDRS. */
  deny?: readonly string[];
  /** Ranges to permit even when a deny range covers them: allow overrides deny. */
  allow?: readonly string[];
  /** false turns the guard off: every address is allowed. Default true. */
  enabled?: boolean;
}

/**
 * Builds a policy from CIDR lists; throws a TypeError naming the first bad
 * CIDR. IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses
 * are judged as the IPv4 address they reach.
 */
export function createAddressPolicy(options: AddressPolicyOptions = {}): AddressPolicy {
  const enabled = options.enabled ?? true;
  const deny = (options.deny ?? DEFAULT_DENY_CIDRS).map(parseCidr);
  const allow = (options.allow ?? []).map(parseCidr);
  const denyList = toBlockList(deny);
  const allowList = toBlockList(allow);
  const format = (c: Cidr) => `${c.address}/${c.prefix}`;
  return {
    isBlocked(address: string): boolean {
      if (!enabled) return false;
      let target: { address: string; family: 4 | 6 };
      try {
        target = effectiveAddress(address);
      } catch {
        return true;
      }
      const type = target.family === 4 ? 'ipv4' : 'ipv6';
      return denyList.check(target.address, type) && !allowList.check(target.address, type);
    },
    describe: () => ({ deny: enabled ? deny.map(format) : [], allow: allow.map(format) }),
  };
}

function toBlockList(ranges: Cidr[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) list.addSubnet(range.address, range.prefix, range.family === 4 ? 'ipv4' : 'ipv6');
  return list;
}
