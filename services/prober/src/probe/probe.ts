import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { capMessage, redactUrl, type ProbeFailureReason as ProbeReason } from '@vigil/contracts';
import { classifyEgressError, guardedConnector, readCapped, type AddressPolicy, type HostResolver } from '@vigil/net-guard';
import { parseStatusRanges, statusMatches } from './expectations.js';

export interface ProbeRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  timeoutMs: number;
  expectStatusCodes: readonly string[];
  expectBodyContains: string | null;
  /** spec.allowInsecureRedirects: follow a redirect from https to http instead of failing with InsecureRedirect. */
  allowInsecureRedirects: boolean;
}

/**
 * Phase durations in ms of the last hop (the response that was judged):
 * dns (name resolution, 0 for an IP literal), connect (TCP), tls (handshake,
 * 0 for http), ttfb (request written to response headers received). total is
 * the whole probe, every redirect hop and the capped body read included.
 * A phase that never completed is null.
 */
export interface PhaseTimings {
  dnsMs: number | null;
  connectMs: number | null;
  tlsMs: number | null;
  ttfbMs: number | null;
  totalMs: number;
}

export interface ProbeOutcome {
  ok: boolean;
  /** The final HTTP status, 0 when there was no response. */
  code: number;
  reason: ProbeReason | null;
  /** At most MESSAGE_MAX_CHARS; URLs in it (redirect locations) are redacted (redactUrl). */
  message: string | null;
  timings: PhaseTimings;
  redirects: number;
}

export interface ProbeOptions {
  policy: AddressPolicy;
  resolver?: HostResolver;
  /** Redirects followed before TooManyRedirects. */
  maxRedirects: number;
  /** Bytes of the body read (and searched for bodyContains) at most. */
  bodyLimitBytes: number;
  userAgent: string;
}

export const DEFAULT_PROBE_OPTIONS = { maxRedirects: 5, bodyLimitBytes: 64 * 1024, userAgent: 'vigil-prober/0.1' } as const;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Handed to every finished probe's `client.destroy()`: without one, undici
 * builds a new ClientDestroyedError, stack trace and all, per probe — ~5 % of
 * the prober's CPU at 1,000 probes/s and garbage for the GC. Nothing reads it.
 */
const PROBE_FINISHED = new Error('probe finished');

interface HopTimes {
  start: number;
  secure: boolean;
  status?: number;
  lookupEnd?: number;
  connectEnd?: number;
  tlsEnd?: number;
  headers?: number;
}

/**
 * One probe: a fresh connection per hop (no pool, so DNS, TCP and TLS are
 * measured and certificate changes seen every time), every connection through
 * the SSRF guard, redirects followed by hand up to a limit, all under one
 * deadline. The check's headers go only to its own origin: a redirect to
 * another scheme, host or port drops them for that hop and every later one
 * (as browsers drop Authorization), and an https → http redirect fails with
 * InsecureRedirect unless the check allows it. Never throws: every failure
 * becomes a reason.
 */
export async function probe(request: ProbeRequest, options: ProbeOptions, abort?: AbortSignal): Promise<ProbeOutcome> {
  const started = performance.now();
  const deadline = started + request.timeoutMs;
  // `abort` (shutdown) ends the probe early too; the caller discards that outcome.
  const signal = abort ? AbortSignal.any([AbortSignal.timeout(request.timeoutMs), abort]) : AbortSignal.timeout(request.timeoutMs);
  const remaining = () => Math.max(1, Math.round(deadline - performance.now()));
  const ranges = parseStatusRanges(request.expectStatusCodes);
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return failure('ProtocolError', `invalid URL ${JSON.stringify(redactUrl(request.url))}`, 0, started, undefined, 0);
  }
  // The CRD refuses userinfo; an object stored before it did is refused here,
  // rather than probed without the credentials it names.
  if (url.username !== '' || url.password !== '') {
    return failure('CredentialsInUrl', 'spec.url must not contain userinfo (user:password@): put credentials in spec.headers', 0, started, undefined, 0);
  }
  let method = request.method.toUpperCase();
  let headers = request.headers;
  let redirects = 0;
  let hop: HopTimes = { start: started, secure: false };

  for (;;) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return failure('ProtocolError', `unsupported scheme ${url.protocol}`, 0, started, hop, redirects);
    }
    hop = { start: performance.now(), secure: url.protocol === 'https:' };
    const times = hop;
    const client = new Client(url.origin, {
      connect: guardedConnector(options.policy, {
        timeout: remaining(),
        ...(options.resolver ? { resolver: options.resolver } : {}),
        onSocket: (socket: Socket) => watchPhases(socket, times),
      }),
      headersTimeout: remaining(),
      bodyTimeout: remaining(),
      keepAliveTimeout: 1,
      pipelining: 1,
    });
    try {
      const response = await client.request({
        path: `${url.pathname}${url.search}`,
        method: method as 'GET',
        headers: { 'user-agent': options.userAgent, ...headers },
        signal,
      });
      times.headers = performance.now();
      times.status = response.statusCode;
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(response.statusCode) && typeof location === 'string') {
        await response.body.dump({ limit: 16 * 1024 }).catch(() => undefined);
        if (redirects >= options.maxRedirects) {
          return failure('TooManyRedirects', `more than ${options.maxRedirects} redirects (last to ${redactUrl(location)})`, response.statusCode, started, times, redirects);
        }
        redirects++;
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          return failure('ProtocolError', `invalid redirect location ${JSON.stringify(redactUrl(location))}`, response.statusCode, started, times, redirects);
        }
        if (url.protocol === 'https:' && next.protocol === 'http:' && !request.allowInsecureRedirects) {
          return failure(
            'InsecureRedirect',
            `redirect from https to http (${redactUrl(next.href)}) refused: spec.allowInsecureRedirects is false`,
            response.statusCode,
            started,
            times,
            redirects,
          );
        }
        // Authorization, Cookie and every other header of the check are for
        // its own origin only; once dropped they stay dropped.
        if (next.origin !== url.origin) headers = {};
        url = next;
        // What browsers do: a 303, or a 301/302 after a POST, continues as GET.
        if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')) method = 'GET';
        continue;
      }
      const body = method === 'HEAD' ? '' : (await readCapped(response.body, options.bodyLimitBytes)).toString('utf8');
      const timings = timingsOf(times, started);
      if (!statusMatches(response.statusCode, ranges)) {
        return { ok: false, code: response.statusCode, reason: 'UnexpectedStatus', message: `status ${response.statusCode} is not in ${request.expectStatusCodes.join(', ')}`, timings, redirects };
      }
      if (request.expectBodyContains && !body.includes(request.expectBodyContains)) {
        return {
          ok: false,
          code: response.statusCode,
          reason: 'BodyMismatch',
          message: capMessage(`the first ${options.bodyLimitBytes / 1024} KiB of the body do not contain ${JSON.stringify(request.expectBodyContains)}`),
          timings,
          redirects,
        };
      }
      return { ok: true, code: response.statusCode, reason: null, message: null, timings, redirects };
    } catch (err) {
      const { reason, message } = classifyEgressError(err, { timedOut: signal.aborted });
      const text = reason === 'Timeout' ? timeoutMessage(times, request.timeoutMs) : message;
      return failure(reason, text, times.status ?? 0, started, times, redirects);
    } finally {
      client.destroy(PROBE_FINISHED).catch(() => undefined);
    }
  }
}

function watchPhases(socket: Socket, times: HopTimes): void {
  socket.once('lookup', () => (times.lookupEnd ??= performance.now()));
  socket.once('connect', () => (times.connectEnd = performance.now()));
  socket.once('secureConnect', () => (times.tlsEnd = performance.now()));
}

function timingsOf(times: HopTimes, started: number): PhaseTimings {
  const round = (ms: number) => Math.round(ms * 100) / 100;
  const span = (from: number | undefined, to: number | undefined) => (from !== undefined && to !== undefined ? round(to - from) : null);
  const connectStart = times.lookupEnd ?? times.start;
  const ready = times.tlsEnd ?? times.connectEnd;
  return {
    dnsMs: times.connectEnd !== undefined || times.lookupEnd !== undefined ? round((times.lookupEnd ?? times.start) - times.start) : null,
    connectMs: span(connectStart, times.connectEnd),
    tlsMs: times.secure ? span(times.connectEnd, times.tlsEnd) : times.connectEnd !== undefined ? 0 : null,
    ttfbMs: span(ready, times.headers),
    totalMs: round(performance.now() - started),
  };
}

function timeoutMessage(times: HopTimes, timeoutMs: number): string {
  const phase =
    times.headers !== undefined
      ? 'reading the body'
      : times.connectEnd !== undefined
        ? 'waiting for response headers'
        : times.lookupEnd !== undefined
          ? 'connecting'
          : 'resolving or connecting';
  return `no answer within ${timeoutMs} ms (timed out ${phase})`;
}

function failure(reason: ProbeReason, message: string, code: number, started: number, times: HopTimes | undefined, redirects: number): ProbeOutcome {
  return { ok: false, code, reason, message: capMessage(message), timings: timingsOf(times ?? { start: started, secure: false }, started), redirects };
}
