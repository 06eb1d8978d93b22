/**
 * A counting TCP proxy for AMQP 0-9-1: listens on 127.0.0.1 (a random port), forwards
 * every connection to the broker unchanged, and parses the frames in both directions to
 * count them per kind: methods by `class.method`, content headers, content bodies,
 * heartbeats, and bytes. Used by `bench/frames.ts` to see what the broker sees per message.
 *
 * The frame format (AMQP 0-9-1, section 4.2.3): the client first sends the 8-byte protocol
 * header `AMQP 0 0 9 1`; after that each frame is type (1 octet), channel (2), payload size
 * (4), the payload, and the frame-end octet 0xCE. A method frame's payload starts with its
 * class id (2) and method id (2).
 */
import net from 'node:net';

/** Class and method names by id (AMQP 0-9-1 as RabbitMQ speaks it). */
const CLASSES: Record<number, [string, Record<number, string>]> = {
  10: [
    'connection',
    {
      10: 'start',
      11: 'start-ok',
      20: 'secure',
      21: 'secure-ok',
      30: 'tune',
      31: 'tune-ok',
      40: 'open',
      41: 'open-ok',
      50: 'close',
      51: 'close-ok',
      60: 'blocked',
      61: 'unblocked',
      70: 'update-secret',
      71: 'update-secret-ok',
    },
  ],
  20: [
    'channel',
    { 10: 'open', 11: 'open-ok', 20: 'flow', 21: 'flow-ok', 40: 'close', 41: 'close-ok' },
  ],
  40: [
    'exchange',
    {
      10: 'declare',
      11: 'declare-ok',
      20: 'delete',
      21: 'delete-ok',
      30: 'bind',
      31: 'bind-ok',
      40: 'unbind',
      51: 'unbind-ok',
    },
  ],
  50: [
    'queue',
    {
      10: 'declare',
      11: 'declare-ok',
      20: 'bind',
      21: 'bind-ok',
      30: 'purge',
      31: 'purge-ok',
      40: 'delete',
      41: 'delete-ok',
      50: 'unbind',
      51: 'unbind-ok',
    },
  ],
  60: [
    'basic',
    {
      10: 'qos',
      11: 'qos-ok',
      20: 'consume',
      21: 'consume-ok',
      30: 'cancel',
      31: 'cancel-ok',
      40: 'publish',
      50: 'return',
      60: 'deliver',
      70: 'get',
      71: 'get-ok',
      72: 'get-empty',
      80: 'ack',
      90: 'reject',
      100: 'recover-async',
      110: 'recover',
      111: 'recover-ok',
      120: 'nack',
    },
  ],
  85: ['confirm', { 10: 'select', 11: 'select-ok' }],
  90: [
    'tx',
    {
      10: 'select',
      11: 'select-ok',
      20: 'commit',
      21: 'commit-ok',
      30: 'rollback',
      31: 'rollback-ok',
    },
  ],
};

const FRAME_END = 0xce;
const PROTOCOL_HEADER = 8;

/** What was counted: `frames`, `bytes`, `method`, `class.method`, `header`, `body`, ... */
export type Counts = Map<string, number>;

function add(counts: Counts, key: string, n = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

export function methodName(classId: number, methodId: number): string {
  const cls = CLASSES[classId];
  if (cls === undefined) return `class${classId}.method${methodId}`;
  return `${cls[0]}.${cls[1][methodId] ?? `method${methodId}`}`;
}

/**
 * Parses one direction of one connection, counting into `counts`. Keys: `bytes`,
 * `frames`, `methods`, one per `class.method`, `basic.ack (multiple)` and
 * `basic.nack (multiple)` for acks that settle several deliveries, `content header` and
 * `content header bytes` (frames, and their payload bytes: the message properties),
 * `content body` and `content body bytes`, `heartbeat`, `protocol header`, `channels`
 * (distinct channel numbers seen on this connection), `socket reads` (the chunks the proxy
 * read: on loopback about one per write of the sender, fewer when writes come faster than
 * the proxy reads, so an upper bound of how well the sender batches its writes) and
 * `unparsed` (bytes after a frame
 * the parser could not make sense of; it stops parsing that direction, still forwarding).
 */
export class FrameParser {
  readonly #counts: Counts;
  readonly #channels = new Set<number>();
  #buffer: Buffer = Buffer.alloc(0);
  #needHeader: boolean;
  #broken = false;
  /** Called for every method frame (channel, name), for ad-hoc tracing. */
  onMethod: ((channel: number, name: string) => void) | undefined;

  constructor(counts: Counts, fromClient: boolean) {
    this.#counts = counts;
    this.#needHeader = fromClient;
  }

  push(chunk: Buffer): void {
    add(this.#counts, 'bytes', chunk.length);
    add(this.#counts, 'socket reads');
    if (this.#broken) {
      add(this.#counts, 'unparsed', chunk.length);
      return;
    }
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let at = 0;
    const buf = this.#buffer;
    if (this.#needHeader) {
      if (buf.length < PROTOCOL_HEADER) return;
      if (buf.toString('latin1', 0, 4) !== 'AMQP') return this.#break(buf.length);
      add(this.#counts, 'protocol header');
      this.#needHeader = false;
      at = PROTOCOL_HEADER;
    }
    while (buf.length - at >= 7) {
      const type = buf.readUInt8(at);
      const channel = buf.readUInt16BE(at + 1);
      const size = buf.readUInt32BE(at + 3);
      if (buf.length - at < 7 + size + 1) break;
      if (buf[at + 7 + size] !== FRAME_END) return this.#break(buf.length - at);
      this.#frame(type, channel, buf.subarray(at + 7, at + 7 + size));
      at += 8 + size;
    }
    this.#buffer = at === buf.length ? Buffer.alloc(0) : buf.subarray(at);
  }

  #break(rest: number): void {
    this.#broken = true;
    this.#buffer = Buffer.alloc(0);
    add(this.#counts, 'unparsed', rest);
  }

  /** basic.publish: reserved (2), exchange (shortstr), routing key (shortstr), bits. */
  #publish(payload: Buffer): void {
    let at = 6;
    const exchangeLength = payload[at]!;
    if (exchangeLength === 0) add(this.#counts, 'basic.publish (default exchange)');
    at += 1 + exchangeLength;
    at += 1 + payload[at]!;
    if (((payload[at] ?? 0) & 1) === 1) add(this.#counts, 'basic.publish (mandatory)');
  }

  /**
   * Content header: class (2), weight (2), body size (8), property flags (2), then the
   * properties present in flag order: content-type, content-encoding (shortstr), headers
   * (table), delivery-mode (octet), ...
   */
  #properties(payload: Buffer): void {
    const flags = payload.readUInt16BE(12);
    let at = 14;
    if (flags & 0x8000) at += 1 + payload[at]!;
    if (flags & 0x4000) at += 1 + payload[at]!;
    if (flags & 0x2000) {
      const size = payload.readUInt32BE(at);
      if (size > 0) add(this.#counts, 'content header (headers table)');
      at += 4 + size;
    }
    if (flags & 0x1000 && payload[at] === 2) add(this.#counts, 'content header (persistent)');
  }

  #frame(type: number, channel: number, payload: Buffer): void {
    const c = this.#counts;
    add(c, 'frames');
    if (channel !== 0 && !this.#channels.has(channel)) {
      this.#channels.add(channel);
      add(c, 'channels');
    }
    switch (type) {
      case 1: {
        const name = methodName(payload.readUInt16BE(0), payload.readUInt16BE(2));
        add(c, 'methods');
        add(c, name);
        // basic.ack / basic.nack: delivery-tag (8 octets), then the bits; bit 0 is `multiple`.
        if ((name === 'basic.ack' || name === 'basic.nack') && payload.length > 12) {
          if ((payload[12]! & 1) === 1) add(c, `${name} (multiple)`);
        }
        if (name === 'basic.publish') this.#publish(payload);
        this.onMethod?.(channel, name);
        break;
      }
      case 2:
        add(c, 'content header');
        add(c, 'content header bytes', payload.length);
        this.#properties(payload);
        break;
      case 3:
        add(c, 'content body');
        add(c, 'content body bytes', payload.length);
        break;
      case 8:
        add(c, 'heartbeat');
        break;
      default:
        add(c, `frame type ${type}`);
    }
  }
}

/** Counts of one proxy: what its clients sent to the broker, and what they got back. */
export interface ProxyCounts {
  /** Client to broker. */
  up: Counts;
  /** Broker to client. */
  down: Counts;
}

/**
 * A proxy in front of `broker` (host, port). Every connection through it adds to the same
 * two count maps; `connections` counts accepted connections.
 */
export class FrameProxy {
  readonly label: string;
  readonly counts: ProxyCounts = { up: new Map(), down: new Map() };
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  /** performance.now() of the last frame bytes seen, heartbeats included. */
  lastActivity = 0;

  constructor(label: string, broker: { host: string; port: number }) {
    this.label = label;
    this.#server = net.createServer((client) => {
      add(this.counts.up, 'connections');
      client.setNoDelay(true);
      const upstream = net.connect({ host: broker.host, port: broker.port, noDelay: true });
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const up = new FrameParser(this.counts.up, true);
      const down = new FrameParser(this.counts.down, false);
      const pipe = (from: net.Socket, to: net.Socket, parser: FrameParser): void => {
        from.on('data', (chunk: Buffer) => {
          this.lastActivity = performance.now();
          parser.push(chunk);
          if (!to.write(chunk)) {
            from.pause();
            to.once('drain', () => from.resume());
          }
        });
        from.on('end', () => to.end());
      };
      pipe(client, upstream, up);
      pipe(upstream, client, down);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
  }

  /** Starts listening on 127.0.0.1 at a random port; resolves with the port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** A copy of the counts so far. */
  snapshot(): ProxyCounts {
    return { up: new Map(this.counts.up), down: new Map(this.counts.down) };
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** `after - before`, per key (keys absent before count as 0). */
export function diff(after: Counts, before: Counts): Counts {
  const out: Counts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}
