import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import type { IssuedCertificate } from './certificates.js';

/** What a target does with the next requests; a test switches it at will. */
export type TargetBehaviour =
  | { kind: 'respond'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'slow'; delayMs: number; status?: number; body?: string }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'redirect'; location: string; status?: number };

export const UP: TargetBehaviour = { kind: 'respond', status: 200, body: 'ok' };
export const DOWN: TargetBehaviour = { kind: 'respond', status: 503, body: 'unavailable' };

export interface TargetOptions {
  host?: string;
  port?: number;
  /** Serve HTTPS with this certificate (e.g. a stand-in for https://example.com). */
  tls?: IssuedCertificate;
  behaviour?: TargetBehaviour;
}

/** A local HTTP(S) target for probes, whose behaviour a test can change while it runs. */
export class HttpTarget {
  behaviour: TargetBehaviour;
  /** Requests received, in order. */
  readonly requests: Array<{ method: string; path: string; headers: IncomingMessage['headers']; at: number }> = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  readonly host: string;
  readonly secure: boolean;
  port = 0;

  private constructor(options: TargetOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.secure = Boolean(options.tls);
    this.behaviour = options.behaviour ?? UP;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = options.tls
      ? createHttpsServer({ cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) }, handler)
      : createHttpServer(handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: TargetOptions = {}): Promise<HttpTarget> {
    const target = new HttpTarget(options);
    await new Promise<void>((resolve, reject) => {
      target.server.once('error', reject);
      target.server.listen(options.port ?? 0, target.host, () => resolve());
    });
    target.port = (target.server.address() as AddressInfo).port;
    return target;
  }

  url(path = '/'): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.secure ? 'https' : 'http'}://${host}:${this.port}${path}`;
  }

  set(behaviour: TargetBehaviour): void {
    this.behaviour = behaviour;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, at: Date.now() });
    req.resume();
    const b = this.behaviour;
    switch (b.kind) {
      case 'respond':
        res.writeHead(b.status, { 'content-type': 'text/plain', ...b.headers });
        res.end(b.body ?? '');
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          res.writeHead(b.status ?? 200, { 'content-type': 'text/plain' });
          res.end(b.body ?? 'ok');
        }, b.delayMs);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      case 'hang':
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'redirect':
        res.writeHead(b.status ?? 302, { location: b.location });
        res.end();
        return;
    }
  }
}
