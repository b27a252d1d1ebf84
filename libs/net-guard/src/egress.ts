import type { ProbeFailureReason } from '@vigil/contracts';
import { BlockedAddressError, DnsLookupError } from './errors.js';

/**
 * Why an outbound HTTP attempt (a probe, a webhook) got no usable answer. The
 * names are the UptimeCheck status vocabulary, so a probe's reason, a webhook
 * attempt's log and a dashboard all say the same thing for the same failure.
 */
export const EGRESS_FAILURE_REASONS = [
  'Timeout',
  'ConnectionRefused',
  'ConnectionReset',
  'DNSFailure',
  'TLSError',
  'Blocked',
  'TooManyRedirects',
  'ProtocolError',
] as const satisfies readonly ProbeFailureReason[];

export type EgressFailureReason = (typeof EGRESS_FAILURE_REASONS)[number];

export interface EgressFailure {
  reason: EgressFailureReason;
  /** The detail, from the error that decided the reason; at most 300 characters. */
  message: string;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const REFUSED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN']);
const TLS_CODE = /CERT|SSL|TLS|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH|ALTNAME/;
const TLS_MESSAGE = /SSL routines|certificate|TLS/i;

type ErrorLike = { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };

/**
 * Classifies an error thrown while connecting, sending or reading. undici
 * wraps the socket's error in its own (`cause`), so the chain is searched:
 * the SSRF guard's and the resolver's errors win wherever they are, then the
 * outermost error that says something specific. `timedOut` says the caller's
 * deadline fired, which wins over whatever the abort surfaced as. Anything
 * unrecognised (HTTP parser errors, a peer that speaks another protocol) is a
 * ProtocolError.
 */
export function classifyEgressError(err: unknown, options: { timedOut?: boolean } = {}): EgressFailure {
  const chain = causeChain(err);
  const blocked = chain.find((e) => e instanceof BlockedAddressError || e.code === 'VIGIL_BLOCKED');
  if (blocked) return { reason: 'Blocked', message: describe(blocked) };
  const dns = chain.find((e) => e instanceof DnsLookupError);
  if (dns) return { reason: 'DNSFailure', message: describe(dns) };
  if (options.timedOut) return { reason: 'Timeout', message: describe(err) };
  for (const e of chain) {
    const reason = reasonOf(e);
    if (reason) return { reason, message: describe(e) };
  }
  return { reason: 'ProtocolError', message: describe(err) };
}

function reasonOf(e: ErrorLike): EgressFailureReason | undefined {
  const code = typeof e.code === 'string' ? e.code : '';
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || TIMEOUT_CODES.has(code)) return 'Timeout';
  if (REFUSED_CODES.has(code)) return 'ConnectionRefused';
  if (TLS_CODE.test(code) || TLS_MESSAGE.test(typeof e.message === 'string' ? e.message : '')) return 'TLSError';
  if (RESET_CODES.has(code)) return 'ConnectionReset';
  if (DNS_CODES.has(code)) return 'DNSFailure';
  return undefined;
}

function causeChain(err: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  for (let e = err; e !== null && typeof e === 'object' && chain.length < 5 && !chain.includes(e as ErrorLike); e = (e as ErrorLike).cause) {
    chain.push(e as ErrorLike);
  }
  return chain.length > 0 ? chain : [{ message: String(err) }];
}

/** The error's message, led by its code when the message does not name it (Vigil's own errors already say everything). */
function describe(err: unknown): string {
  const e = err as ErrorLike;
  const text = (typeof e?.message === 'string' && e.message) || String(err);
  const code = typeof e?.code === 'string' && !(err instanceof BlockedAddressError) ? e.code : '';
  const withCode = code && !text.includes(code) ? `${code}: ${text}` : text;
  return withCode.length > 300 ? `${withCode.slice(0, 297)}...` : withCode;
}

/**
 * Reads at most `limitBytes` of a response body. A longer body is not read
 * further: the stream is destroyed, which drops the connection (a 50 MB answer
 * costs the limit, not 50 MB). A body that fits is consumed to its end, so a
 * kept-alive connection can be reused.
 */
export async function readCapped(body: AsyncIterable<Uint8Array> & { destroy(): unknown }, limitBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limitBytes) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limitBytes);
}
