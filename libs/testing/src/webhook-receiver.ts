import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { waitFor } from './processes.js';

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The parsed body, when it is JSON. */
  payload: unknown;
  /** Whether the reference `standardwebhooks` library accepted the signature and timestamp. */
  verified: boolean;
  verifyError?: string;
  receivedAt: number;
}

/** How the receiver answers the next deliveries. */
export type ReceiverBehaviour =
  | { kind: 'accept'; status?: number }
  | { kind: 'fail'; status: number; retryAfter?: string; body?: string }
  | { kind: 'hang' }
  | { kind: 'reset' };

/**
 * A webhook receiver on loopback that verifies every delivery with the
 * reference `standardwebhooks` library and records it, verified or not.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  behaviour: ReceiverBehaviour = { kind: 'accept' };
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private readonly verifiers: Webhook[];
  port = 0;

  /** `secrets` are `whsec_…` strings; a delivery verifies if any of them accepts it (rotation). */
  private constructor(secrets: string[]) {
    this.verifiers = secrets.map((s) => new Webhook(s));
    this.server = createServer((req, res) => {
      void this.record(req).then(() => {
        const b = this.behaviour;
        if (b.kind === 'hang') return;
        if (b.kind === 'reset') return void req.socket.destroy();
        if (b.kind === 'fail') {
          res.writeHead(b.status, { 'content-type': 'text/plain', ...(b.retryAfter ? { 'retry-after': b.retryAfter } : {}) });
          return void res.end(b.body ?? 'failed');
        }
        res.writeHead(b.status ?? 204);
        res.end();
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(secrets: string[], host = '127.0.0.1'): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secrets);
    await new Promise<void>((resolve, reject) => {
      receiver.server.once('error', reject);
      receiver.server.listen(0, host, () => resolve());
    });
    receiver.port = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Deliveries whose signature verified, de-duplicated by webhook-id (at-least-once delivery may repeat one). */
  uniqueVerified(): ReceivedWebhook[] {
    const seen = new Map<string, ReceivedWebhook>();
    for (const r of this.received) if (r.verified && !seen.has(r.id)) seen.set(r.id, r);
    return [...seen.values()];
  }

  async waitForDeliveries(count: number, timeoutMs = 30_000): Promise<ReceivedWebhook[]> {
    await waitFor(`${count} verified webhook deliveries (have ${this.uniqueVerified().length})`, () => this.uniqueVerified().length >= count, {
      timeoutMs,
    });
    return this.uniqueVerified();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async record(req: IncomingMessage): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const header = (name: string) => String(req.headers[name] ?? '');
    const headers = { 'webhook-id': header('webhook-id'), 'webhook-timestamp': header('webhook-timestamp'), 'webhook-signature': header('webhook-signature') };
    let verified = false;
    let verifyError: string | undefined;
    for (const verifier of this.verifiers) {
      try {
        verifier.verify(body, headers);
        verified = true;
        break;
      } catch (err) {
        verifyError = (err as Error).message;
      }
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      payload = undefined;
    }
    this.received.push({
      id: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      signature: headers['webhook-signature'],
      body,
      payload,
      verified,
      ...(verified ? {} : { verifyError }),
      receivedAt: Date.now(),
    });
  }
}
