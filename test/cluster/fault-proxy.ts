/**
 * A TCP fault proxy for the cluster tests: it listens on 127.0.0.1 and forwards each
 * accepted connection to one target port, and a test can change what happens to the
 * traffic of each connection while it is open:
 *
 * - `pass`: bytes are forwarded both ways, with back-pressure;
 * - `delay`: every chunk is held for a fixed time, in order, then forwarded;
 * - `blackhole`: bytes are read and dropped in both directions and neither side is told
 *   (no FIN, no RST), as when a network path goes silent; only a heartbeat notices;
 * - `cut`: both sockets are closed at once (each peer sees the connection end).
 *
 * The mode for connections accepted later is set separately (`setDefault`): a new
 * connection in `blackhole` is accepted and never answered, one in `cut` is closed as
 * soon as it is accepted. Connections to the target that fail close the client side.
 *
 * Why our own module instead of an npm package: the maintained fault-injection proxy,
 * toxiproxy, is a separate server binary (its npm packages are clients, or need Docker
 * through testcontainers), and the small npm TCP proxies only pass traffic: none can
 * black-hole an open connection without closing it or change a live connection's
 * behaviour. This is about 200 lines of `node:net`, with unit tests in
 * `test/unit/fault-proxy.test.ts`.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'delay' | 'blackhole' | 'cut';

/** Delayed bytes held per direction before the source is paused (bounded memory). */
const MAX_HELD_BYTES = 8 * 1024 * 1024;

/** One direction of a proxied connection: reads `from`, writes `to`. */
class Pipe {
  #releaseAt = 0;
  readonly #queue: { at: number; fn: () => void }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #held = 0;
  #pausedForDelay = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly conn: ProxyConnection,
  ) {
    from.on('data', (chunk: Buffer) => this.#onData(chunk));
    from.on('end', () => {
      // A half-close travels only while traffic does.
      if (conn.mode === 'pass' || conn.mode === 'delay') this.#later(() => to.end());
    });
  }

  #onData(chunk: Buffer): void {
    const conn = this.conn;
    if (conn.mode === 'blackhole' || conn.mode === 'cut') return; // dropped
    if (conn.direction(this) === 'up') conn.bytesUp += chunk.length;
    else conn.bytesDown += chunk.length;
    if (conn.mode === 'pass' && this.#held === 0) {
      this.#write(chunk);
      return;
    }
    this.#held += chunk.length;
    if (this.#held > MAX_HELD_BYTES && !this.#pausedForDelay) {
      this.#pausedForDelay = true;
      this.from.pause();
    }
    this.#later(() => {
      this.#held -= chunk.length;
      // A mode change to black hole or cut while held: those bytes are lost too.
      if (conn.mode === 'pass' || conn.mode === 'delay') this.#write(chunk);
      if (this.#pausedForDelay && this.#held <= MAX_HELD_BYTES / 2) {
        this.#pausedForDelay = false;
        this.from.resume();
      }
    });
  }

  /**
   * Runs `fn` after the connection's delay, never before anything scheduled earlier: one
   * queue in release order and one timer for its head, so that chunks scheduled under
   * different delays can't overtake each other (separate timers of different durations
   * that fall due in the same millisecond may fire in any order).
   */
  #later(fn: () => void): void {
    const delay = this.conn.mode === 'delay' ? this.conn.delayMs : 0;
    const at = Math.max(Date.now() + delay, this.#releaseAt);
    this.#releaseAt = at;
    if (this.#queue.length === 0 && at <= Date.now()) {
      fn();
      return;
    }
    this.#queue.push({ at, fn });
    this.#arm();
  }

  #arm(): void {
    const head = this.#queue[0];
    if (this.#timer !== undefined || head === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        const now = Date.now();
        while (this.#queue[0] !== undefined && this.#queue[0].at <= now) this.#queue.shift()?.fn();
        this.#arm();
      },
      Math.max(0, head.at - Date.now()),
    );
    this.#timer.unref();
  }

  #write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    if (!this.to.write(chunk)) {
      this.from.pause();
      this.to.once('drain', () => {
        if (!this.#pausedForDelay) this.from.resume();
      });
    }
  }
}

/** One accepted connection and its two sockets. */
export class ProxyConnection {
  mode: FaultMode;
  delayMs: number;
  bytesUp = 0;
  bytesDown = 0;
  readonly openedAt = Date.now();
  #up: Pipe | undefined;
  #closed = false;

  constructor(
    readonly id: number,
    readonly client: Socket,
    readonly upstream: Socket | undefined,
    mode: FaultMode,
    delayMs: number,
    private readonly onClose: (c: ProxyConnection) => void,
  ) {
    this.mode = mode;
    this.delayMs = delayMs;
    client.on('error', () => this.close());
    client.on('close', () => this.#closedSide(client));
    if (upstream !== undefined) {
      upstream.on('error', () => this.close());
      upstream.on('close', () => this.#closedSide(upstream));
      this.#up = new Pipe(client, upstream, this);
      new Pipe(upstream, client, this);
    } else {
      // Never forwarded anywhere: read and drop, so the client's writes succeed.
      client.on('data', () => undefined);
    }
  }

  /** @internal */
  direction(pipe: Pipe): 'up' | 'down' {
    return pipe === this.#up ? 'up' : 'down';
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Changes what happens to this connection's traffic from now on. */
  set(mode: FaultMode, delayMs = 0): void {
    if (this.#closed) return;
    this.mode = mode;
    this.delayMs = delayMs;
    if (mode === 'cut') this.close();
  }

  /** Closes both sockets. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.mode = 'cut';
    this.client.destroy();
    this.upstream?.destroy();
    this.onClose(this);
  }

  #closedSide(side: Socket): void {
    // In a black hole the other side hears nothing: it finds out by itself (a heartbeat)
    // or when the test cuts the connection.
    if (this.mode === 'blackhole') {
      const other = side === this.client ? this.upstream : this.client;
      if (other === undefined || other.destroyed) this.close();
      return;
    }
    this.close();
  }
}

export interface FaultProxyOptions {
  /** Where connections go (on 127.0.0.1). */
  readonly targetPort: number;
  /** The port to listen on; 0 picks a free one. @default 0 */
  readonly listenPort?: number;
  /** For messages. */
  readonly name?: string;
}

/** See the module comment. */
export class FaultProxy {
  readonly name: string;
  readonly targetPort: number;
  #server: Server;
  #port = 0;
  #nextId = 1;
  #defaultMode: FaultMode = 'pass';
  #defaultDelayMs = 0;
  readonly #live = new Set<ProxyConnection>();
  /** Every connection accepted so far (for counts). */
  accepted = 0;

  private constructor(options: FaultProxyOptions) {
    this.name = options.name ?? `proxy->${options.targetPort}`;
    this.targetPort = options.targetPort;
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  /** Starts listening on 127.0.0.1. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen({ host: '127.0.0.1', port: options.listenPort ?? 0 }, () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    const address = proxy.#server.address();
    proxy.#port = typeof address === 'object' && address !== null ? address.port : 0;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** The connections open now, oldest first. */
  connections(): ProxyConnection[] {
    return [...this.#live];
  }

  /** The mode of connections accepted from now on (open ones keep theirs). */
  setDefault(mode: FaultMode, delayMs = 0): void {
    this.#defaultMode = mode;
    this.#defaultDelayMs = delayMs;
  }

  /** Sets the mode of every open connection and of new ones. */
  setAll(mode: FaultMode, delayMs = 0): void {
    this.setDefault(mode, delayMs);
    for (const conn of this.connections()) conn.set(mode, delayMs);
  }

  /**
   * Back to normal: black-holed connections are closed (a stream that lost bytes cannot
   * resume), delayed ones pass again, and so do new ones.
   */
  restore(): void {
    for (const conn of this.connections()) {
      if (conn.mode === 'blackhole') conn.close();
      else conn.set('pass');
    }
    this.setDefault('pass');
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const conn of this.connections()) conn.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted += 1;
    client.setNoDelay(true);
    const mode = this.#defaultMode;
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    let upstream: Socket | undefined;
    if (mode !== 'blackhole') {
      // Bytes the client sends before the target answers wait in the socket (paused).
      client.pause();
      upstream = connect({ host: '127.0.0.1', port: this.targetPort, noDelay: true });
      upstream.once('connect', () => client.resume());
    }
    const conn = new ProxyConnection(
      this.#nextId++,
      client,
      upstream,
      mode,
      this.#defaultDelayMs,
      (c) => this.#live.delete(c),
    );
    this.#live.add(conn);
  }
}
