import type { ProbeFailureReason } from '@vigil/k8s';
import { BlockedAddressError, DnsLookupError } from '@vigil/net-guard';

/** Why a probe failed; shown in the UptimeCheck status and in webhooks. */
export type ProbeReason = ProbeFailureReason;

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const REFUSED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);
const TLS_CODE = /CERT|SSL|TLS|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH|ALTNAME/;

/**
 * Maps an error thrown while connecting, sending or reading to a reason.
 * `timedOut` says the probe's overall deadline fired, which wins: whatever the
 * abort surfaced as, the target did not answer in time.
 */
export function classifyError(err: unknown, timedOut: boolean): { reason: ProbeReason; message: string } {
  const e = err as { code?: string; name?: string; message?: string; cause?: unknown };
  const message = describe(err);
  if (err instanceof BlockedAddressError) return { reason: 'Blocked', message };
  if (err instanceof DnsLookupError) return { reason: 'DNSFailure', message };
  if (timedOut || e?.name === 'TimeoutError' || e?.name === 'AbortError' || TIMEOUT_CODES.has(e?.code ?? '')) return { reason: 'Timeout', message };
  const code = e?.code ?? '';
  if (REFUSED_CODES.has(code)) return { reason: 'ConnectionRefused', message };
  if (TLS_CODE.test(code) || /SSL routines|certificate|TLS/i.test(e?.message ?? '')) return { reason: 'TLSError', message };
  if (RESET_CODES.has(code)) return { reason: 'ConnectionReset', message };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { reason: 'DNSFailure', message };
  // Parser errors (HPE_*), bad responses and anything else the peer did wrong.
  if (e?.cause && e.cause !== err) {
    const inner = classifyError(e.cause, false);
    if (inner.reason !== 'ProtocolError') return { reason: inner.reason, message };
  }
  return { reason: 'ProtocolError', message };
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = e?.message || String(err);
  const withCode = e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
  return withCode.length > 300 ? `${withCode.slice(0, 297)}...` : withCode;
}
