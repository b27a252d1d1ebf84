import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';

export interface ProbeResult {
  ok: boolean;
  /** Per-dependency detail shown on /readyz, e.g. { postgres: 'ok', apiserver: 'watch forbidden' }. */
  checks?: Record<string, string>;
}

export interface OpsServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  logger: Logger;
  /** Liveness: false only when the process is wedged and a restart would help. */
  live?: () => ProbeResult | Promise<ProbeResult>;
  /** Readiness: false while a dependency is missing or the first sync has not finished. */
  ready: () => ProbeResult | Promise<ProbeResult>;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz and /readyz for the services that have no HTTP framework of their own. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const live = options.live ?? (() => ({ ok: true }));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const probe = async (fn: () => ProbeResult | Promise<ProbeResult>) => {
      try {
        const result = await fn();
        reply(result.ok ? 200 : 503, JSON.stringify({ status: result.ok ? 'ok' : 'unavailable', checks: result.checks ?? {} }));
      } catch (err) {
        reply(503, JSON.stringify({ status: 'unavailable', error: (err as Error).message }));
      }
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, JSON.stringify({ error: 'method not allowed' }));
    switch (path) {
      case '/metrics':
        options.registry.metrics().then(
          (text) => reply(200, text, options.registry.contentType),
          (err: Error) => reply(500, JSON.stringify({ error: err.message })),
        );
        return;
      case '/healthz':
        return void probe(live);
      case '/readyz':
        return void probe(options.ready);
      default:
        return reply(404, JSON.stringify({ error: 'not found' }));
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port }, 'ops server listening (/metrics, /healthz, /readyz)');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
