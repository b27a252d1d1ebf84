import { bool, duration, int, port, serviceEnv, str, type ConfigOf } from '@vigil/config';
import { cidrList } from '@vigil/net-guard';
import { publishGroups, publishNamespaces } from '../common/publish-scope.js';
import { PUBLIC_CACHE_TTL_MS } from '../common/response-cache.js';

/** A TokenReview audience: what `kubectl create token --audience` was given. */
const AUDIENCE = /^[\x21-\x7e]{1,253}$/;

/**
 * The api's environment. The public port (PORT) serves the API, the docs, the
 * status page and bare /healthz and /readyz; /metrics and the detailed
 * /readyz are on OPS_PORT, which no Ingress routes to.
 */
export const apiEnv = {
  DATABASE_URL: serviceEnv.DATABASE_URL,
  LOG_LEVEL: serviceEnv.LOG_LEVEL,
  PORT: port({ description: 'public port: /api/v1, /api/docs, the status page, /healthz and a bare /readyz', default: 8080 }),
  OPS_PORT: port({ description: 'ops port, not for the Ingress: /metrics, /healthz and /readyz with the reason when not ready', default: 9090 }),
  STATUS_PAGE_SHOW_URLS: bool({ description: 'show target URLs and probe error messages publicly', default: false }),
  STATUS_PAGE_SHOW_NAMES: bool({ description: "show each check's namespace and object name in public lists and events (a check without a display name shows its name anyway)", default: false }),
  STATUS_PAGE_NAMESPACES: publishNamespaces('namespaces whose checks may publish to the status page and public API (comma list, or * for every namespace)'),
  STATUS_PAGE_GROUPS: publishGroups('status page groups checks may publish in (comma list, or * for every group and ungrouped checks)'),
  STATUS_PAGE_REFRESH: duration({ description: 'how often the status page polls for fresh data', default: 15_000, min: 1_000, max: 3_600_000 }),
  PUBLIC_CACHE_TTL: duration({ description: 'how long a public response is reused in process; 0ms turns the cache off', default: PUBLIC_CACHE_TTL_MS, min: 0, max: 60_000 }),
  AUTH_AUDIENCE: {
    ...str({ description: 'audience a delivery-log token must be bound to (kubectl create token --audience)', default: 'vigil' }),
    parse(raw: string) {
      if (!AUDIENCE.test(raw)) throw new Error('expected an audience of 1 to 253 printable characters without spaces');
      return raw;
    },
  },
  AUTH_CACHE_TTL: duration({ description: 'how long an accepted token or an allowed access is reused without asking the API server', default: 30_000, min: 0, max: 300_000 }),
  AUTH_NEGATIVE_CACHE_TTL: duration({ description: 'how long a refused token or a denied access is reused', default: 5_000, min: 0, max: 60_000 }),
  AUTH_FAILURE_LIMIT: int({ description: 'refused tokens per client and AUTH_FAILURE_WINDOW before its new tokens get 429', default: 10, min: 1, max: 10_000 }),
  AUTH_FAILURE_WINDOW: duration({ description: 'window of AUTH_FAILURE_LIMIT', default: 60_000, min: 1_000, max: 3_600_000 }),
  TRUSTED_PROXIES: cidrList({
    description: 'proxies (CIDRs) whose X-Forwarded-For names the client for rate limiting; empty: the connecting address is the client',
    default: [],
  }),
};

export type ApiConfig = ConfigOf<typeof apiEnv>;

/** Injection token of the parsed ApiConfig. */
export const API_CONFIG = Symbol('API_CONFIG');
