// Test and bench support: real HTTP receivers on loopback, and the receivers
// file written the way a Secret volume updates it (an atomic symlink swap).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReceivedRequest {
  at: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Responder = (req: ReceivedRequest, index: number, res: ServerResponse) => void;

export interface TestReceiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** TCP connections accepted, whether or not a request followed. */
  readonly connections: number;
  respond: Responder;
  close(): Promise<void>;
}

export const ok: Responder = (_req, _i, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');

/** An HTTP server recording every request; `respond` decides each answer. */
export async function startReceiver(options: { host?: string; port?: number; path?: string; respond?: Responder } = {}): Promise<TestReceiver> {
  const host = options.host ?? '127.0.0.1';
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const receiver = {
    respond: options.respond ?? ok,
  } as TestReceiver & { respond: Responder };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(received);
      receiver.respond(received, requests.length - 1, res);
    });
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    url: `http://${host}:${port}${options.path ?? '/hook'}`,
    port,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

export interface ReceiverConfig {
  name: string;
  url: string;
  secrets: string[];
  /** Required, as in the file: names, or ["*"] for every namespace. */
  namespaces: string[];
  matchLabels?: Record<string, string>;
  events?: string[];
}

/**
 * Writes `dir/receivers.json` as kubelet updates a Secret volume: the data goes
 * into a fresh timestamped directory, `..data` is swapped to it atomically,
 * and `receivers.json` is a symlink through `..data`.
 */
export async function writeReceiversFile(dir: string, receivers: ReceiverConfig[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const version = `..${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  await mkdir(join(dir, version));
  await writeFile(join(dir, version, 'receivers.json'), JSON.stringify({ receivers }, null, 2));
  await symlink(version, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  await symlink(join('..data', 'receivers.json'), join(dir, 'receivers.json')).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return join(dir, 'receivers.json');
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
