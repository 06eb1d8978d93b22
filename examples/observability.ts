/**
 * Observability quick start, on `fake://` (no broker needed): Prometheus metrics and a
 * health check on one HTTP server.
 *
 * - Metrics go through the OpenTelemetry metrics API: the application registers a
 *   MeterProvider whose reader is `@opentelemetry/exporter-prometheus`, and serves its
 *   handler at `/metrics`: oslo.metrics' instruments under the same names the oslo.metrics
 *   collector exposes, and the transport gauges.
 * - `/healthz` (liveness) always answers 200; `/readyz` (readiness) answers 503 while the
 *   broker is away (`transport.status` is `reconnecting` or `closed`).
 *
 * Run: npm run example:observability
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

import { getRpcClient, getRpcServer, getRpcTransport, type Transport } from '../src/index.js';

// 1. The application's metrics SDK: a Prometheus reader, served by our own HTTP server.
const prometheus = new PrometheusExporter({ preventServerStart: true });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));

// 2. A transport, a server and a client: they record into the global provider.
const transport = getRpcTransport('fake://');
const server = getRpcServer(transport, { topic: 'compute', server: 'host1' }, [
  { add: (_ctxt: unknown, args: { a: number; b: number }) => args.a + args.b },
]);
await server.start();

/** Readiness: ready while the transport is connected (or not yet used). */
function ready(t: Transport): boolean {
  return t.status === 'connected' || t.status === 'idle';
}

const http = createServer((request, response) => {
  if (request.url === '/metrics') {
    prometheus.getMetricsRequestHandler(request, response);
  } else if (request.url === '/healthz') {
    response.writeHead(200).end('ok\n');
  } else if (request.url === '/readyz') {
    const ok = ready(transport);
    response.writeHead(ok ? 200 : 503).end(`${transport.status}\n`);
  } else {
    response.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

const client = getRpcClient(transport, { topic: 'compute' });
for (let i = 0; i < 3; i += 1) await client.call({}, 'add', { a: i, b: 1 });

console.log('GET /readyz ->', (await fetch(`${base}/readyz`)).status);
const text = await (await fetch(`${base}/metrics`)).text();
for (const line of text.split('\n')) {
  if (
    /^oslo_messaging_(rpc_client_invocation_start_total|calls_in_flight|transport_connected)/.test(
      line,
    )
  ) {
    console.log(line);
  }
}

await server.close();
await transport.cleanup();
console.log('GET /readyz after cleanup ->', (await fetch(`${base}/readyz`)).status);
http.close();
await prometheus.shutdown();
