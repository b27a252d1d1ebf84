import type { Server } from 'node:http';
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net';

/**
 * Servers a test starts on 127.0.0.1 (hostile targets, raw TCP peers), with
 * their connections tracked so `closeAll()` ends even hung or half-read ones.
 */
export class LoopbackServers {
  private readonly servers: Array<Server | TcpServer> = [];
  private readonly sockets = new Set<Socket>();

  /** Listens on a free port of `host` (127.0.0.1 by default) and returns it. */
  async listen(server: Server | TcpServer, host = '127.0.0.1'): Promise<number> {
    this.servers.push(server);
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return (server.address() as AddressInfo).port;
  }

  async closeAll(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
