import { parseDuration } from '@vigil/config';
import { CHECK_ROW_DEFAULTS as DEFAULTS, MAX_TIMEOUT_MS, isCheckState, redactUserinfo, type CheckUpsert } from '@vigil/contracts';
import type { UptimeCheck } from '@vigil/k8s';

/** The watcher-owned columns of one `vigil.checks` row, plus the seed state used only when the row is new. */
export type CheckRow = CheckUpsert;

export class InvalidCheckError extends Error {
  override name = 'InvalidCheckError';
}

/**
 * Maps an UptimeCheck (defaults filled in by the API server) to its row. The
 * CRD's validation already refuses bad specs; the same limits are checked here
 * because the table's CHECK constraints would otherwise fail a whole batch.
 */
export function toCheckRow(check: UptimeCheck): CheckRow {
  const { metadata: meta, spec } = check;
  const where = `${meta.namespace}/${meta.name}`;
  if (!meta.uid) throw new InvalidCheckError(`${where} has no uid`);
  if (!spec?.url) throw new InvalidCheckError(`${where} has no spec.url`);
  let intervalMs: number;
  let timeoutMs: number;
  try {
    intervalMs = spec.interval ? parseDuration(spec.interval) : DEFAULTS.interval_ms;
    timeoutMs = spec.timeout ? parseDuration(spec.timeout) : DEFAULTS.timeout_ms;
  } catch (err) {
    throw new InvalidCheckError(`${where}: ${(err as Error).message}`);
  }
  if (intervalMs < 5000 || intervalMs > 86_400_000) throw new InvalidCheckError(`${where}: interval must be between 5s and 24h`);
  if (timeoutMs <= 0 || timeoutMs >= intervalMs) throw new InvalidCheckError(`${where}: timeout must be positive and less than interval`);
  // Objects from before the CRD's cap: probe with the cap rather than hold a probe slot for longer (timeoutCapMessage reports it).
  timeoutMs = Math.min(timeoutMs, MAX_TIMEOUT_MS);
  const failureThreshold = spec.failureThreshold ?? DEFAULTS.failure_threshold;
  const successThreshold = spec.successThreshold ?? DEFAULTS.success_threshold;
  for (const [field, value] of [['failureThreshold', failureThreshold], ['successThreshold', successThreshold]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 10) throw new InvalidCheckError(`${where}: ${field} must be an integer from 1 to 10`);
  }
  const status = check.status;
  const seedState = isCheckState(status?.state) ? status.state : null;
  const seedSince = status?.since && !Number.isNaN(Date.parse(status.since)) ? status.since : null;
  return {
    uid: meta.uid,
    namespace: meta.namespace,
    name: meta.name,
    generation: meta.generation ?? DEFAULTS.generation,
    labels: meta.labels ?? DEFAULTS.labels,
    // Userinfo is never stored: the CRD refuses it, an older object's is
    // replaced by REDACTED@ and the prober reports the check CredentialsInUrl.
    url: redactUserinfo(spec.url),
    method: spec.method ?? DEFAULTS.method,
    headers: spec.headers ?? DEFAULTS.headers,
    interval_ms: intervalMs,
    timeout_ms: timeoutMs,
    expect_status_codes: spec.expect?.statusCodes ?? DEFAULTS.expect_status_codes,
    expect_body_contains: spec.expect?.bodyContains || null,
    failure_threshold: failureThreshold,
    success_threshold: successThreshold,
    paused: spec.paused ?? DEFAULTS.paused,
    publish: spec.statusPage?.publish ?? DEFAULTS.publish,
    display_name: spec.statusPage?.displayName || null,
    group_name: spec.statusPage?.group || null,
    allow_insecure_redirects: spec.allowInsecureRedirects ?? DEFAULTS.allow_insecure_redirects,
    seed_state: seedState,
    seed_state_since: seedState ? seedSince : null,
  };
}

/** Why the stored timeout differs from the spec's, or undefined when it does not. */
export function timeoutCapMessage(check: UptimeCheck): string | undefined {
  let timeoutMs: number;
  try {
    timeoutMs = check.spec?.timeout ? parseDuration(check.spec.timeout) : 0;
  } catch {
    return undefined;
  }
  if (timeoutMs <= MAX_TIMEOUT_MS) return undefined;
  return `spec.timeout ${check.spec.timeout} is above the ${MAX_TIMEOUT_MS / 1000}s cap: probed with a ${MAX_TIMEOUT_MS / 1000}s timeout; set spec.timeout to at most ${MAX_TIMEOUT_MS / 1000}s`;
}

/** The watcher-owned content of a row: equal fingerprints mean writing would change nothing. */
export function rowFingerprint(row: CheckRow): string {
  const { seed_state: _state, seed_state_since: _since, ...owned } = row;
  return JSON.stringify(owned);
}
