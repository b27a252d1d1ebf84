import { Resolver } from 'node:dns';
import { bool, list, type ConfigOf, type EnvVar } from '@vigil/config';
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
  SSRF_DENY_CIDRS: cidrList({ description: 'ranges denied in addition to the default list', default: [] }),
  // Loudly named: replacing the defaults drops the cloud-metadata ranges unless they are listed again.
  SSRF_DENY_CIDRS_REPLACE_DEFAULTS: cidrList({ description: 'when set, the ranges that replace the default deny list (SSRF_DENY_CIDRS still adds to them)', default: [] }),
  SSRF_ALLOW_CIDRS: cidrList({ description: 'ranges allowed even when denied (allow overrides deny)', default: [] }),
};

export type SsrfConfig = Pick<ConfigOf<typeof ssrfEnv>, keyof typeof ssrfEnv>;

/** The policy of the SSRF variables: the default deny list (or its replacement) plus SSRF_DENY_CIDRS, then the allow list. */
export function policyFromEnv(config: SsrfConfig): AddressPolicy {
  const base = config.SSRF_DENY_CIDRS_REPLACE_DEFAULTS.length > 0 ? config.SSRF_DENY_CIDRS_REPLACE_DEFAULTS : DEFAULT_DENY_CIDRS;
  return createAddressPolicy({ enabled: config.SSRF_GUARD, deny: [...base, ...config.SSRF_DENY_CIDRS], allow: config.SSRF_ALLOW_CIDRS });
}
