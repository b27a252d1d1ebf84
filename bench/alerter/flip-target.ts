// Local HTTP targets for the alert-latency benchmark: one loopback server, one
// path per check (`/t/<index>`), each answering 200 (up) or 503 (down). Flips
// are made at a controlled rate: every tick arms one flip, and the next probe
// of a check that has not flipped for `minGapMs` takes it — the target changes
// state under that very probe, so every flip is one transition at a known
// moment, and flips never bunch up beyond the tick rate.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Wall-clock milliseconds with sub-millisecond resolution (the machine's clock, shared by every process). */
export const wallClock = (): number => performance.timeOrigin + performance.now();

export interface Flip {
  check: number;
  to: 'up' | 'down';
  /** When the flipping probe's request arrived, and when its response was handed to the socket. */
  arrivedAt: number;
  sentAt: number;
}

export class FlipTarget {
  readonly flips: Flip[] = [];
  port = 0;
  private readonly up: boolean[];
  private readonly lastFlip: number[];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private readonly minGapMs: number;
  private armed = false;
  private ticker: NodeJS.Timeout | undefined;

  private constructor(checks: number, minGapMs: number) {
    this.minGapMs = minGapMs;
    this.up = Array.from({ length: checks }, () => true);
    this.lastFlip = Array.from({ length: checks }, () => 0);
    this.server = createServer((req, res) => {
      const arrivedAt = wallClock();
      req.resume();
      const index = Number(/^\/t\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
      if (!(index >= 0 && index < this.up.length)) {
        res.writeHead(404).end();
        return;
      }
      let flip: Flip | undefined;
      if (this.armed && arrivedAt - this.lastFlip[index]! >= this.minGapMs) {
        this.armed = false;
        this.up[index] = !this.up[index];
        this.lastFlip[index] = arrivedAt;
        flip = { check: index, to: this.up[index] ? 'up' : 'down', arrivedAt, sentAt: Number.NaN };
        this.flips.push(flip);
      }
      const ok = this.up[index];
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain', connection: 'close' });
      res.end(ok ? 'ok' : 'unavailable', () => {
        if (flip) flip.sentAt = wallClock();
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(checks: number, minGapMs: number): Promise<FlipTarget> {
    const target = new FlipTarget(checks, minGapMs);
    await new Promise<void>((resolve, reject) => {
      target.server.once('error', reject);
      target.server.listen(0, '127.0.0.1', () => resolve());
    });
    target.port = (target.server.address() as AddressInfo).port;
    return target;
  }

  url(check: number): string {
    return `http://127.0.0.1:${this.port}/t/${check}`;
  }

  /** Arms one flip every `1000 / perSecond` ms (an unclaimed arm is not carried over) until `count` more flips were made. */
  async flipAtRate(perSecond: number, count: number): Promise<Flip[]> {
    const first = this.flips.length;
    await new Promise<void>((resolve) => {
      this.ticker = setInterval(() => {
        if (this.flips.length - first >= count) {
          clearInterval(this.ticker);
          this.armed = false;
          resolve();
          return;
        }
        this.armed = true;
      }, 1000 / perSecond);
    });
    return this.flips.slice(first);
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
