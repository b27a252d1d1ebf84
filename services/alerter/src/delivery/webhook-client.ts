import { Agent, request } from 'undici';
import { BlockedAddressError, DnsLookupError, guardedConnector, type AddressPolicy } from '@vigil/net-guard';
import { webhookHeaders } from '@vigil/webhooks';
import { parseRetryAfter, type AttemptResult } from './outcome.js';

const EXCERPT_BYTES = 1024;

export interface WebhookRequest {
  url: URL;
  id: string;
  body: string;
  secrets: readonly Buffer[];
  signal?: AbortSignal;
}

/**
 * Sends webhooks: one POST per attempt, signed with a fresh timestamp, never
 * following redirects, under one deadline covering connect, headers and the
 * response excerpt. Connections go through the SSRF guard, which also
 * refuses blocked IP literals before any packet is sent; kept-alive
 * connections to a receiver are reused (unlike probes, nothing is measured).
 */
export class WebhookClient {
  private readonly agent: Agent;

  constructor(
    policy: AddressPolicy,
    private readonly timeoutMs: number,
  ) {
    this.agent = new Agent({
      connect: guardedConnector(policy, { timeout: timeoutMs }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  async send(req: WebhookRequest): Promise<AttemptResult> {
    const startedAt = new Date();
    const started = performance.now();
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([deadline, req.signal]) : deadline;
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const headers = webhookHeaders({ id: req.id, timestamp: startedAt, body: req.body }, req.secrets);
      const res = await request(req.url, {
        method: 'POST',
        headers: { ...headers, 'user-agent': 'vigil-alerter' },
        body: req.body,
        dispatcher: this.agent,
        signal,
      });
      const excerpt = await readExcerpt(res.body);
      const code = res.statusCode;
      const location = res.headers.location;
      const retryAfter = res.headers['retry-after'];
      const error =
        code >= 200 && code < 300
          ? undefined
          : code >= 300 && code < 400
            ? `Redirect: HTTP ${code}${location ? ` to ${String(location)}` : ''} (redirects are not followed)`
            : `HTTP ${code}`;
      return {
        startedAt,
        durationMs: elapsed(),
        statusCode: code,
        ...(error ? { error } : {}),
        ...(excerpt ? { excerpt } : {}),
        ...(retryAfter !== undefined ? { retryAfterMs: parseRetryAfter(String(retryAfter), new Date()) } : {}),
      };
    } catch (err) {
      const why = deadline.aborted ? `Timeout: no response within ${this.timeoutMs} ms` : req.signal?.aborted ? 'Aborted: the alerter is stopping' : describeError(err);
      return { startedAt, durationMs: elapsed(), error: why };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The first KiB of the body as text (NUL bytes dropped: Postgres text cannot hold them); the rest is discarded. */
async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= EXCERPT_BYTES) {
      body.destroy();
      break;
    }
  }
  if (size === 0) return undefined;
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8').replace(/\0/g, '');
}

/** A short reason in the vocabulary of probe failures, followed by the detail. */
export function describeError(err: unknown): string {
  const chain: Array<{ code?: string; message?: string; name?: string }> = [];
  for (let e = err as { cause?: unknown } | undefined; e && chain.length < 5; e = e.cause as { cause?: unknown } | undefined) chain.push(e as never);
  const blocked = chain.find((e) => e instanceof BlockedAddressError || e.code === 'VIGIL_BLOCKED');
  if (blocked) return `Blocked: ${blocked.message}`;
  const dns = chain.find((e) => e instanceof DnsLookupError);
  if (dns) return `DNSFailure: ${dns.message}`;
  const codes = chain.map((e) => e.code ?? '');
  const message = chain.map((e) => e.message).find((m) => m) ?? String(err);
  if (codes.some((c) => c === 'UND_ERR_CONNECT_TIMEOUT' || c === 'UND_ERR_HEADERS_TIMEOUT' || c === 'UND_ERR_BODY_TIMEOUT' || c === 'ETIMEDOUT')) return `Timeout: ${message}`;
  if (codes.includes('ECONNREFUSED')) return `ConnectionRefused: ${message}`;
  if (codes.some((c) => c === 'ECONNRESET' || c === 'UND_ERR_SOCKET' || c === 'EPIPE')) return `ConnectionReset: ${message}`;
  if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN')) return `DNSFailure: ${message}`;
  if (codes.some((c) => c.startsWith('ERR_TLS') || c.startsWith('CERT_') || c.includes('SELF_SIGNED') || c.startsWith('UNABLE_TO_'))) return `TLSError: ${message}`;
  return `Error: ${message}`;
}
