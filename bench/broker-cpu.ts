/**
 * The broker's CPU, read from outside: the OS process of a RabbitMQ node on this machine
 * (the one listening on the broker's port), its user + system time from
 * `/proc/<pid>/stat`. Read-only: nothing is sent to the broker or its process.
 *
 * Found, in order: `BENCH_BROKER_PID`; the process holding the listening socket of the
 * port (from `/proc/net/tcp*` and `/proc/<pid>/fd`, which needs the rights to read that
 * process's descriptors); `rabbitmqctl eval 'os:getpid().'` (a local node only). Linux
 * only; elsewhere, or for a remote broker, there is no figure.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Clock ticks per second of `/proc/<pid>/stat` times. */
function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** The inode of the socket listening on `port` (IPv4 or IPv6), if any. */
function listeningInode(port: number): string | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT; st 0A is LISTEN; inode is the 10th field.
      if (f.length > 9 && f[1]?.endsWith(`:${hexPort}`) === true && f[3] === '0A') return f[9];
    }
  }
  return undefined;
}

function pidOfSocket(inode: string): number | undefined {
  const target = `socket:[${inode}]`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`) === target) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

function pidFromRabbitmqctl(): number | undefined {
  try {
    const out = execFileSync('rabbitmqctl', ['eval', 'os:getpid().'], {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const m = /"(\d+)"/.exec(out);
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** A sampler of one process's CPU time. */
export class BrokerCpu {
  readonly pid: number;
  /** How the pid was found. */
  readonly source: string;
  readonly #ticks = clockTicks();

  private constructor(pid: number, source: string) {
    this.pid = pid;
    this.source = source;
  }

  /** The broker's process for a transport URL, or undefined when it cannot be found. */
  static find(url: string): BrokerCpu | undefined {
    const fromEnv = process.env['BENCH_BROKER_PID'];
    if (fromEnv !== undefined && fromEnv !== '') {
      return new BrokerCpu(Number(fromEnv), 'BENCH_BROKER_PID');
    }
    if (process.platform !== 'linux') return undefined;
    const u = new URL(url.replace(/^(rabbit|kombu):/, 'amqp:'));
    const host = u.hostname.split(',')[0] ?? '';
    if (!LOCAL.has(host)) return undefined;
    const port = Number(u.port || 5672);
    const inode = listeningInode(port);
    const bySocket = inode === undefined ? undefined : pidOfSocket(inode);
    if (bySocket !== undefined) return new BrokerCpu(bySocket, `listener on port ${port}`);
    const byCtl = pidFromRabbitmqctl();
    if (byCtl !== undefined) return new BrokerCpu(byCtl, "rabbitmqctl eval 'os:getpid().'");
    return undefined;
  }

  /** User + system CPU of the process so far, in ms (NaN if it cannot be read). */
  cpuMs(): number {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      // Fields after the command name (in parentheses, which may hold spaces): state is
      // field 3, utime field 14 and stime field 15 (1-based).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const utime = Number(rest[11]);
      const stime = Number(rest[12]);
      return ((utime + stime) * 1000) / this.#ticks;
    } catch {
      return NaN;
    }
  }

  /** The process's name, for the report (`beam.smp`). */
  name(): string {
    try {
      return readFileSync(`/proc/${this.pid}/comm`, 'utf8').trim();
    } catch {
      return 'unknown';
    }
  }
}
