import { Resolver } from 'node:dns';
import { bool, list, type EnvVar } from '@vigil/config';
import { parseCidr } from './address.js';
import { DEFAULT_DENY_CIDRS, createAddressPolicy, type AddressPolicy } from './policy.js';

/** A comma-separated list of CIDRs (or single addresses), each validated. */
export function cidrList(options: { description: string; default: readonly string[] }): EnvVar<string[]> {
  return {
    description: options.description,
    fallback: { value: [...options.default] },
    parse(raw) {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const bad = items.filter((item) => {
        try {
          parseCidr(item);
          return false;
        } catch {
          return true;
        }
      });
      if (bad.length > 0) throw new Error(`not a CIDR: ${bad.join(', ')}`);
      return items;
    },
  };
}

/** A comma list of DNS servers for `createResolver` (ip, ip:port, [ipv6]:port), each checked by the resolver itself; empty: the system's. */
export function dnsServerList(options: { description: string }): EnvVar<string[]> {
  const items = list({ ...options, default: [] });
  return {
    ...items,
    parse(raw) {
      const servers = items.parse(raw);
      const bad = servers.filter((server) => {
        try {
          new Resolver().setServers([server]);
          return false;
        } catch {
          return true;
        }
      });
      if (bad.length > 0) throw new Error(`not a DNS server address: ${bad.join(', ')}`);
      return servers;
    },
  };
}

/** The SSRF variables every service that connects to user-given URLs reads (prober, alerter). */
export const ssrfEnv = {
  SSRF_GUARD: bool({ description: 'refuse connections to denied addresses (SSRF guard)', default: true }),
  SSRF_DENY_CIDRS: cidrList({ description: 'denied ranges, replacing the default list', default: DEFAULT_DENY_CIDRS }),
  SSRF_ALLOW_CIDRS: cidrList({ description: 'ranges allowed even when denied (allow overrides deny)', default: [] }),
};

export function policyFromEnv(config: { SSRF_GUARD: boolean; SSRF_DENY_CIDRS: readonly string[]; SSRF_ALLOW_CIDRS: readonly string[] }): AddressPolicy {
  return createAddressPolicy({ enabled: config.SSRF_GUARD, deny: config.SSRF_DENY_CIDRS, allow: config.SSRF_ALLOW_CIDRS });
}
