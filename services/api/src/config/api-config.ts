import { bool, duration, port, serviceEnv, type ConfigOf } from '@vigil/config';
import { publishGroups, publishNamespaces } from '../common/publish-scope.js';
import { PUBLIC_CACHE_TTL_MS } from '../common/response-cache.js';

/**
 * The api's environment. It serves everything (API, docs, status page,
 * health, metrics) on PORT, so the shared OPS_PORT does not apply here.
 */
export const apiEnv = {
  DATABASE_URL: serviceEnv.DATABASE_URL,
  LOG_LEVEL: serviceEnv.LOG_LEVEL,
  PORT: port({ description: 'port for /api/v1, /api/docs, the status page, /healthz, /readyz and /metrics', default: 8080 }),
  STATUS_PAGE_SHOW_URLS: bool({ description: 'show target URLs and probe error messages publicly', default: false }),
  STATUS_PAGE_SHOW_NAMES: bool({ description: "show each check's namespace and object name in public lists and events (a check without a display name shows its name anyway)", default: false }),
  STATUS_PAGE_NAMESPACES: publishNamespaces('namespaces whose checks may publish to the status page and public API (comma list, or * for every namespace)'),
  STATUS_PAGE_GROUPS: publishGroups('status page groups checks may publish in (comma list, or * for every group and ungrouped checks)'),
  STATUS_PAGE_REFRESH: duration({ description: 'how often the status page polls for fresh data', default: 15_000, min: 1_000, max: 3_600_000 }),
  PUBLIC_CACHE_TTL: duration({ description: 'how long a public response is reused in process; 0ms turns the cache off', default: PUBLIC_CACHE_TTL_MS, min: 0, max: 60_000 }),
};

export type ApiConfig = ConfigOf<typeof apiEnv>;

/** Injection token of the parsed ApiConfig. */
export const API_CONFIG = Symbol('API_CONFIG');
