import { Agent, request } from 'undici';
import { classifyEgressError, guardedConnector, readCapped, type AddressPolicy } from '@vigil/net-guard';
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
      if (req.signal?.aborted && !deadline.aborted) return { startedAt, durationMs: elapsed(), error: 'Aborted: the alerter is stopping' };
      const { reason, message } = classifyEgressError(err, { timedOut: deadline.aborted });
      const detail = reason === 'Timeout' && deadline.aborted ? `no response within ${this.timeoutMs} ms` : message;
      return { startedAt, durationMs: elapsed(), reason, error: `${reason}: ${detail}` };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The first KiB of the body as text (NUL bytes dropped: Postgres text cannot hold them); the rest is discarded. */
async function readExcerpt(body: Parameters<typeof readCapped>[0]): Promise<string | undefined> {
  const bytes = await readCapped(body, EXCERPT_BYTES);
  return bytes.length === 0 ? undefined : bytes.toString('utf8').replace(/\0/g, '');
}
