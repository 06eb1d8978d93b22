/**
 * oslo.metrics: the datagrams this library sends with `[oslo_messaging_metrics]
 * metrics_enabled`, received by the real collector (Debian's python3-oslo.metrics, its
 * `oslo_metrics` server) and read back from the Prometheus text it exposes. Also: the
 * datagrams are byte for byte what oslo.metrics' own `Metric.to_json()` writes, and a
 * missing socket never blocks or fails a call.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  getRpcClient,
  getRpcServer,
  getRpcTransport,
  RemoteError,
  type Logger,
} from '../../src/index.js';
import { metricDatagram } from '../../src/observability/oslo-metrics.js';
import { uniqueFakeUrl } from '../../src/testing/index.js';
import { RecordingLogger } from '../fixtures/notify/helpers.js';
import { delay, PYTHON } from './helpers.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

/** Start the oslo.metrics collector on a private socket and port; stopped at the end. */
async function startCollector(
  t: test.TestContext,
): Promise<{ socket: string; scrape(): Promise<string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'omti-metrics-'));
  const socket = join(dir, 'collector.sock');
  const port = await freePort();
  const conf = join(dir, 'oslo-metrics.conf');
  writeFileSync(
    conf,
    `[oslo_metrics]\nmetrics_socket_file = ${socket}\nprometheus_port = ${port}\n`,
  );
  const child = spawn(PYTHON, ['-m', 'oslo_metrics', '--config-file', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.after(async () => {
    child.kill('SIGTERM');
    await delay(200);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const scrape = async (): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    return response.text();
  };
  for (let i = 0; i < 150; i += 1) {
    if (existsSync(socket)) {
      try {
        await scrape();
        return { socket, scrape };
      } catch {
        // not listening yet
      }
    }
    await delay(100);
  }
  assert.fail(`the oslo.metrics collector did not start:\n${stderr}`);
}

/** The value of one sample in Prometheus text, found by name and labels. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

function metricsTransport(socket: string, logger: Logger, exchange: string) {
  return getRpcTransport(
    {
      DEFAULT: { control_exchange: exchange },
      oslo_messaging_metrics: {
        metrics_enabled: true,
        metrics_socket_file: socket,
        metrics_process_name: 'omti-node',
      },
    },
    { url: uniqueFakeUrl(), logger, tracing: false },
  );
}

test('oslo.metrics - the datagrams are what oslo.metrics writes, byte for byte', () => {
  const labels = {
    call_type: 'call',
    exchange: null,
    topic: 'compute',
    namespace: null,
    version: '5.3',
    server: null,
    fanout: true,
    method: 'resize',
    timeout: null,
    process: 'nova-api',
  };
  // oslo's durations are floats (time.time() differences): a whole one is written 2.0.
  const script = [
    'import json, sys',
    'from oslo_metrics import message_type as m',
    'a = json.loads(sys.argv[1])',
    "print(m.Metric('oslo_messaging', a['name'], m.MetricAction(a['action'], None if a['value'] is None else float(a['value'])), **a['labels']).to_json())",
  ].join('\n');
  for (const [name, action, value] of [
    ['rpc_client_invocation_start_total', 'inc', null],
    ['rpc_client_processing_seconds', 'observe', 0.25],
    ['rpc_client_processing_seconds', 'observe', 2],
  ] as const) {
    const python = spawnSync(
      PYTHON,
      ['-c', script, JSON.stringify({ name, action, value, labels })],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(python.status, 0, python.stderr);
    assert.equal(metricDatagram(name, action, value, labels), python.stdout.trimEnd());
  }
});

test('oslo.metrics - the collector counts calls, casts, fanouts and failures from a Node client and server', async (t) => {
  const collector = await startCollector(t);
  const logger = new RecordingLogger();
  const exchange = `omti_metrics_${process.pid}`;
  const transport = metricsTransport(collector.socket, logger, exchange);
  const server = getRpcServer(transport, { topic: 'metered', server: 'n1' }, [
    {
      echo: (_c: unknown, args: unknown) => args,
      boom: () => {
        throw new RangeError('no');
      },
    },
  ]);
  t.after(async () => {
    await server.close();
    await transport.cleanup();
  });
  await server.start();
  const client = getRpcClient(transport, { topic: 'metered' });
  await client.call({}, 'echo', { a: 1 });
  await client.call({}, 'echo', { a: 2 });
  await client.cast({}, 'echo', { a: 3 });
  await client.prepare({ fanout: true }).cast({}, 'echo', { a: 4 });
  await assert.rejects(client.call({}, 'boom'), RemoteError);

  const base = {
    exchange: 'None',
    topic: 'metered',
    namespace: 'None',
    version: 'None',
    process: 'omti-node',
  };
  const call = { ...base, call_type: 'call', server: 'None', fanout: 'None', timeout: 'None' };
  const expectations: [string, Record<string, string>, number][] = [
    ['oslo_messaging_rpc_client_invocation_start_total', { ...call, method: 'echo' }, 2],
    ['oslo_messaging_rpc_client_invocation_end_total', { ...call, method: 'echo' }, 2],
    ['oslo_messaging_rpc_client_processing_seconds_count', { ...call, method: 'echo' }, 2],
    [
      'oslo_messaging_rpc_client_invocation_start_total',
      { ...call, call_type: 'cast', method: 'echo' },
      1,
    ],
    [
      'oslo_messaging_rpc_client_invocation_start_total',
      { ...call, call_type: 'cast', fanout: 'True', method: 'echo' },
      1,
    ],
    [
      'oslo_messaging_rpc_client_exception_total',
      { ...call, method: 'boom', exception: 'RemoteError' },
      1,
    ],
    [
      'oslo_messaging_rpc_server_invocation_start_total',
      {
        exchange,
        topic: 'metered',
        server: 'n1',
        endpoint: 'None',
        method: 'echo',
        process: 'omti-node',
      },
      4,
    ],
    [
      'oslo_messaging_rpc_server_processing_seconds_count',
      { exchange, topic: 'metered', method: 'echo' },
      4,
    ],
    [
      'oslo_messaging_rpc_server_exception_total',
      { exchange, method: 'boom', exception: 'RangeError' },
      1,
    ],
    ['oslo_messaging_rpc_server_invocation_end_total', { exchange, method: 'boom' }, 1],
  ];
  let text = '';
  for (let i = 0; i < 100; i += 1) {
    text = await collector.scrape();
    if (expectations.every(([name, labels, value]) => sample(text, name, labels) === value)) break;
    await delay(100);
  }
  for (const [name, labels, value] of expectations) {
    assert.equal(sample(text, name, labels), value, `${name} ${JSON.stringify(labels)}`);
  }
});

test('oslo.metrics - without a collector, calls neither wait nor fail; the send failure is logged', async (t) => {
  const logger = new RecordingLogger();
  const transport = metricsTransport(
    '/nonexistent/omti-metrics.sock',
    logger,
    'omti_metrics_absent',
  );
  const server = getRpcServer(transport, { topic: 'metered', server: 'n1' }, [{ echo: () => 1 }]);
  t.after(async () => {
    await server.close();
    await transport.cleanup();
  });
  await server.start();
  const client = getRpcClient(transport, { topic: 'metered' });
  for (let i = 0; i < 5; i += 1) assert.equal(await client.call({}, 'echo'), 1);
  for (let i = 0; i < 50 && logger.at('error', 'Failed to send metrics').length === 0; i += 1) {
    await delay(20);
  }
  assert.ok(logger.at('error', 'Failed to send metrics').length > 0);
});
