/**
 * Structured logs: a pino logger given as the transport's `logger` receives objects
 * (`err` as pino serialises errors, with type, message and stack; the other fields as
 * given), never errors formatted into text; the default logger keeps its one line.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';

import { pino } from 'pino';

import { getRpcClient, getRpcServer, getRpcTransport } from '../../src/index.js';
import { formatLogRecord } from '../../src/log.js';
import { isPinoLike } from '../../src/observability/structured-log.js';
import { uniqueFakeUrl } from '../../src/testing/index.js';

function pinoInto(lines: Record<string, unknown>[]) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return pino({ level: 'debug' }, stream);
}

test('structured logs - pino receives an endpoint failure as { err, method } and the message, at error level', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const logger = pinoInto(lines);
  assert.equal(isPinoLike(logger), true);
  const transport = getRpcTransport(uniqueFakeUrl(), { logger, tracing: false });
  const server = getRpcServer(transport, { topic: 'logs', server: 's1' }, [
    {
      boom: () => {
        throw new RangeError('out of range');
      },
    },
  ]);
  t.after(async () => {
    await server.close();
    await transport.cleanup();
  });
  await server.start();
  await assert.rejects(getRpcClient(transport, { topic: 'logs' }).call({}, 'boom'));
  const record = lines.find((l) => l['msg'] === 'Exception during message handling');
  assert.ok(record, JSON.stringify(lines));
  assert.equal(record['level'], 50); // pino's error
  assert.equal(record['method'], 'boom');
  const err = record['err'] as Record<string, unknown>;
  assert.equal(err['type'], 'RangeError');
  assert.equal(err['message'], 'out of range');
  assert.match(String(err['stack']), /at /);
  // Debug records are objects too, with their %s arguments formatted into the message.
  const received = lines.find((l) => String(l['msg']).startsWith('Received message with id'));
  assert.equal(received?.['level'], 20);
  assert.match(String(received?.['msg']), /method: boom$/);
});

test('structured logs - the default logger keeps its readable one-line record', () => {
  const err = new RangeError('out of range');
  const line = formatLogRecord('Exception during message handling', [{ err, method: 'boom' }]);
  assert.match(
    line,
    /^Exception during message handling method=boom: RangeError: out of range\n\s+at /,
  );
});
