/**
 * Whether a failed query may succeed if retried unchanged: the connection or
 * server went away, or a transient conflict. Anything else (a constraint, a
 * type error) is a bug or bad data, and retrying it forever would wedge a
 * queue. The one classification every service uses.
 */
export function isTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  if (/^(08|53|57P0|58)/.test(code)) return true; // connection, resources, shutdown, system
  if (code === '40001' || code === '40P01' || code === '55P03') return true; // serialization, deadlock, lock_timeout
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Query read timeout/i.test(
    e?.message ?? '',
  );
}

/** Postgres refused a row because no partition of probe_results covers its time. */
export function isMissingPartition(err: unknown): boolean {
  return /no partition of relation/i.test((err as Error)?.message ?? '');
}
