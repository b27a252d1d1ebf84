import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A small stand-in for a Kubernetes Service in front of api replicas:
 * round-robin over the backends that are in rotation. Taking a backend out
 * of rotation is what the endpoints controller does when a pod starts
 * terminating; requests already forwarded to it finish normally.
 */
export class RoundRobinProxy {
  private readonly backends = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private next = 0;
  port = 0;

  private constructor() {
    this.server = createServer((req, res) => this.forward(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<RoundRobinProxy> {
    const proxy = new RoundRobinProxy();
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Puts a ready backend (a port on 127.0.0.1) into rotation under `name`. */
  add(name: string, port: number): void {
    this.backends.set(name, port);
  }

  /** Takes a backend out of rotation: no new request goes to it. */
  remove(name: string): void {
    this.backends.delete(name);
  }

  get inRotation(): string[] {
    return [...this.backends.keys()];
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const ports = [...this.backends.values()];
    if (ports.length === 0) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('no backend in rotation');
      return;
    }
    const port = ports[this.next++ % ports.length]!;
    // A fresh connection per request, as kube-proxy balances connections: a
    // pooled one could outlive the backend's rotation.
    const upstream = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, connection: 'close' }, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`bad gateway: ${err.message}`);
    });
    req.pipe(upstream);
  }
}
