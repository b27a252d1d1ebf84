import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * A tiny authoritative DNS server on loopback (UDP), so that a service under
 * test can resolve real-looking names (example.com, github.com) to local
 * stand-ins through its ordinary resolver, configured with this server. Names
 * it does not know get NXDOMAIN, like `broken.invalid` would anywhere.
 */
export class DnsStub {
  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    readonly port: number,
    private readonly records: Map<string, string[]>,
  ) {}

  static async start(records: Record<string, string | string[]> = {}, host = '127.0.0.1'): Promise<DnsStub> {
    const socket = createSocket('udp4');
    const map = new Map<string, string[]>();
    const stub = new DnsStub(socket, host, 0, map);
    for (const [name, addresses] of Object.entries(records)) stub.set(name, addresses);
    socket.on('message', (msg, peer) => stub.answer(msg, peer));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    return Object.assign(stub, { port: socket.address().port });
  }

  /** `ip:port`, the form `Resolver.setServers()` takes. */
  get server(): string {
    return `${this.address}:${this.port}`;
  }

  set(name: string, addresses: string | string[]): void {
    this.records.set(normalize(name), Array.isArray(addresses) ? addresses : [addresses]);
  }

  delete(name: string): void {
    this.records.delete(normalize(name));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private answer(query: Buffer, peer: RemoteInfo): void {
    const parsed = parseQuestion(query);
    if (!parsed) return;
    const { name, type, questionEnd } = parsed;
    const known = this.records.get(name);
    const wanted = (known ?? []).filter((a) => (type === TYPE_A ? isIPv4(a) : type === TYPE_AAAA ? isIPv6(a) : false));
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    const rd = query[2]! & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD copied
    header[3] = 0x80 | (known ? 0 : 3); // RA, NOERROR or NXDOMAIN
    header.writeUInt16BE(1, 4); // QDCOUNT
    header.writeUInt16BE(wanted.length, 6); // ANCOUNT
    const answers = wanted.map((address) => {
      const rdata = type === TYPE_A ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(5, 6); // TTL: short, tests change records
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    this.socket.send(Buffer.concat([header, query.subarray(12, questionEnd), ...answers]), peer.port, peer.address);
  }
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function parseQuestion(msg: Buffer): { name: string; type: number; questionEnd: number } | undefined {
  if (msg.length < 17 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  while (offset < msg.length) {
    const len = msg[offset]!;
    if (len === 0) break;
    if (len > 63 || offset + 1 + len > msg.length) return undefined;
    labels.push(msg.toString('ascii', offset + 1, offset + 1 + len));
    offset += 1 + len;
  }
  if (offset + 5 > msg.length) return undefined;
  return { name: normalize(labels.join('.')), type: msg.readUInt16BE(offset + 1), questionEnd: offset + 5 };
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
