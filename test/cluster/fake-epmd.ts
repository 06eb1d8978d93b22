/**
 * A small Erlang port mapper (epmd) for the test cluster, so that the traffic between
 * RabbitMQ nodes can run through {@link FaultProxy}s and a test can partition a node.
 *
 * Erlang nodes find each other's distribution port by asking epmd. Each node of the
 * test cluster gets its own listener here (its `ERL_EPMD_PORT`), and all of them share
 * one registry. When node A asks for node B's port, A's listener answers with the port
 * that `route(A, B)` returns (a proxy in front of B), so every connection between two
 * cluster nodes passes a proxy that belongs to that pair. Names that are not cluster
 * nodes (rabbitmqctl's own temporary nodes) get their real port.
 *
 * This also keeps the cluster away from the machine's epmd on 4369 and the broker
 * registered there: nothing of the test cluster registers with it.
 *
 * The protocol (Erlang's "Distribution Protocol", EPMD part): every request is a 2-byte
 * length and that many bytes; the first is the request code. Supported: ALIVE2_REQ
 * (register; the connection stays open and closing it unregisters), PORT_PLEASE2_REQ,
 * NAMES_REQ; anything else closes the connection.
 */
import { createServer, type Server, type Socket } from 'node:net';

const ALIVE2_REQ = 120; // 'x'
const ALIVE2_X_RESP = 118; // 'v' (4-byte creation, OTP 23 and later)
const ALIVE2_RESP = 121; // 'y'
const PORT_PLEASE2_REQ = 122; // 'z'
const PORT2_RESP = 119; // 'w'
const NAMES_REQ = 110; // 'n'

/** A registered node (short name, without `@host`). */
export interface EpmdEntry {
  readonly name: string;
  readonly port: number;
  readonly nodeType: number;
  readonly protocol: number;
  readonly highestVersion: number;
  readonly lowestVersion: number;
  readonly extra: Buffer;
  readonly socket: Socket;
}

/**
 * Which port `asker` is told for `target` (both short names). Returning `undefined`
 * gives the registered port.
 */
export type EpmdRoute = (asker: string, target: string, realPort: number) => number | undefined;

/** See the module comment. */
export class FakeEpmd {
  readonly #entries = new Map<string, EpmdEntry>();
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  #creation = 1 + Math.floor(Math.random() * 1000);
  #route: EpmdRoute;

  constructor(route: EpmdRoute = () => undefined) {
    this.#route = route;
  }

  /** Changes the routing for later lookups. */
  setRoute(route: EpmdRoute): void {
    this.#route = route;
  }

  /** The registered nodes. */
  entries(): EpmdEntry[] {
    return [...this.#entries.values()];
  }

  /**
   * Opens a listener on 127.0.0.1 for the node `asker` (its lookups are routed as that
   * node's). Resolves with the port. `port` 0 picks a free one.
   */
  async listen(asker: string, port = 0): Promise<number> {
    const server = createServer((socket) => this.#serve(socket, asker));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#servers.push(server);
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Closes every listener and connection (registrations end with them). */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(
      this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    this.#servers.length = 0;
    this.#entries.clear();
  }

  #serve(socket: Socket, asker: string): void {
    this.#sockets.add(socket);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      for (const [name, entry] of this.#entries) {
        if (entry.socket === socket) this.#entries.delete(name);
      }
    });
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let handled = false;
    socket.on('data', (chunk: Buffer) => {
      if (handled) return; // a registration connection sends nothing more
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (length > 4096) {
        socket.destroy();
        return;
      }
      if (buffered.length < 2 + length) return;
      handled = true;
      this.#request(socket, buffered.subarray(2, 2 + length), asker);
    });
  }

  #request(socket: Socket, req: Buffer, asker: string): void {
    switch (req[0]) {
      case ALIVE2_REQ:
        this.#alive(socket, req);
        return;
      case PORT_PLEASE2_REQ:
        this.#portPlease(socket, req.subarray(1).toString('utf8'), asker);
        return;
      case NAMES_REQ:
        this.#names(socket);
        return;
      default:
        socket.destroy();
    }
  }

  #alive(socket: Socket, req: Buffer): void {
    const port = req.readUInt16BE(1);
    const nodeType = req.readUInt8(3);
    const protocol = req.readUInt8(4);
    const highestVersion = req.readUInt16BE(5);
    const lowestVersion = req.readUInt16BE(7);
    const nameLength = req.readUInt16BE(9);
    const name = req.subarray(11, 11 + nameLength).toString('utf8');
    const extraLength = req.readUInt16BE(11 + nameLength);
    const extra = Buffer.from(req.subarray(13 + nameLength, 13 + nameLength + extraLength));
    const existing = this.#entries.get(name);
    const x = highestVersion >= 6;
    if (existing !== undefined && !existing.socket.destroyed) {
      // As epmd: a name that is registered on a live connection is refused.
      const refused = Buffer.alloc(x ? 6 : 4);
      refused.writeUInt8(x ? ALIVE2_X_RESP : ALIVE2_RESP, 0);
      refused.writeUInt8(1, 1);
      socket.end(refused);
      return;
    }
    this.#entries.set(name, {
      name,
      port,
      nodeType,
      protocol,
      highestVersion,
      lowestVersion,
      extra,
      socket,
    });
    this.#creation = (this.#creation % 0xfff0) + 4;
    const reply = Buffer.alloc(x ? 6 : 4);
    reply.writeUInt8(x ? ALIVE2_X_RESP : ALIVE2_RESP, 0);
    reply.writeUInt8(0, 1);
    if (x) reply.writeUInt32BE(this.#creation, 2);
    else reply.writeUInt16BE(this.#creation & 0x3, 2);
    socket.write(reply);
  }

  #portPlease(socket: Socket, name: string, asker: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      socket.end(Buffer.from([PORT2_RESP, 1]));
      return;
    }
    const port = this.#route(asker, name, entry.port) ?? entry.port;
    const nameBytes = Buffer.from(name, 'utf8');
    const reply = Buffer.alloc(12 + nameBytes.length + 2 + entry.extra.length);
    let at = reply.writeUInt8(PORT2_RESP, 0);
    at = reply.writeUInt8(0, at);
    at = reply.writeUInt16BE(port, at);
    at = reply.writeUInt8(entry.nodeType, at);
    at = reply.writeUInt8(entry.protocol, at);
    at = reply.writeUInt16BE(entry.highestVersion, at);
    at = reply.writeUInt16BE(entry.lowestVersion, at);
    at = reply.writeUInt16BE(nameBytes.length, at);
    at += nameBytes.copy(reply, at);
    at = reply.writeUInt16BE(entry.extra.length, at);
    entry.extra.copy(reply, at);
    socket.end(reply);
  }

  #names(socket: Socket): void {
    const head = Buffer.alloc(4);
    const address = socket.localPort ?? 0;
    head.writeUInt32BE(address, 0);
    const lines = this.entries()
      .map((e) => `name ${e.name} at port ${e.port}\n`)
      .join('');
    socket.end(Buffer.concat([head, Buffer.from(lines, 'utf8')]));
  }
}
