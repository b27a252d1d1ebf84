import { BlockList, isIPv6 } from 'node:net';
import { effectiveAddress, normaliseHost, parseCidr, type Cidr } from './address.js';

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
  // Cloud endpoints outside link-local: AWS IMDS, DNS and NTP over IPv6
  // (Nitro), Alibaba Cloud metadata, Azure's wireserver (VM agent, health).
  'fd00:ec2::254/128',
  'fd00:ec2::253/128',
  'fd00:ec2::23/128',
  '100.100.100.200/32',
  '168.63.129.16/32',
  // IPv4-compatible ::a.b.c.d (deprecated, RFC 4291): nothing legitimate
  // lives there. Such an address is also judged as the IPv4 address inside
  // it, so an allow range for that IPv4 address opens it.
  '::/96',
  // Local-use NAT64 (RFC 8215): the IPv4 address sits where the site's
  // prefix length puts it, so it cannot be read back; the whole range is refused.
  '64:ff9b:1::/48',
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
  /** Ranges to refuse; defaults to DEFAULT_DENY_CIDRS (policyFromEnv adds SSRF_DENY_CIDRS to them). */
  deny?: readonly string[];
  /** Ranges to permit even when a deny range covers them: allow overrides deny. */
  allow?: readonly string[];
  /** false turns the guard off: every address is allowed. Default true. */
  enabled?: boolean;
}

/**
 * Builds a policy from CIDR lists; throws a TypeError naming the first bad
 * CIDR. IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and
 * IPv4-compatible (::a.b.c.d) addresses are judged as the IPv4 address they
 * reach; a deny range written in IPv6 (::/96) matches their IPv6 spelling too.
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
      // Deny sees both spellings of an address that carries an IPv4 one; allow only the address reached.
      const spelledIPv6 = target.family === 4 && isIPv6(normaliseHost(address));
      const denied = denyList.check(target.address, type) || (spelledIPv6 && denyList.check(normaliseHost(address), 'ipv6'));
      return denied && !allowList.check(target.address, type);
    },
    describe: () => ({ deny: enabled ? deny.map(format) : [], allow: allow.map(format) }),
  };
}

function toBlockList(ranges: Cidr[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) list.addSubnet(range.address, range.prefix, range.family === 4 ? 'ipv4' : 'ipv6');
  return list;
}
