/**
 * The operator's wire view on RabbitMQ: `listen --raw` (bodies byte for byte, with
 * exchange and routing key), `--filter` and `--since`, `peek` (classic, quorum and stream
 * queues; nothing removed; streams from a time offset), `republish` (byte for byte, from
 * `peek --raw` and `listen --raw` files), `move`, and `queues` (depth,
 * consumers and type by AMQP alone).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import type { Channel } from 'amqplib';

import { background, broker, cli, pythonNotification, uniqueName, URL_ } from './cli-helpers.js';

/** oslo's timestamp for `date`: naive UTC, space separator, microseconds. */
function oslotime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000`;
}

test('cli listen --raw - prints each body byte for byte with its exchange and routing key; --filter and --since select', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('raw');
  b.cleanup({ exchanges: [exchange] });
  const listen = background(
    t,
    [
      'listen',
      '--url',
      URL_,
      '--exchange',
      exchange,
      '--topic',
      topic,
      '--raw',
      '--count',
      '1',
      '--filter',
      'payload.state=^err',
      '--since',
      '1h',
    ],
    /listening/,
  );
  await listen.ready;
  const now = oslotime(new Date());
  const skipped = [
    pythonNotification({
      eventType: 'e.ok',
      publisherId: 'p',
      payload: '{"state": "ok"}',
      timestamp: now,
    }),
    pythonNotification({
      eventType: 'e.old',
      publisherId: 'p',
      payload: '{"state": "error"}',
      timestamp: '2020-01-01 00:00:00',
    }),
  ];
  const wanted = pythonNotification({
    eventType: 'e.big',
    publisherId: 'compute.h1',
    payload: '{"state": "error", "id": 123456789012345678901234, "name": "caf\\u00e9"}',
    timestamp: now,
  });
  for (const body of [...skipped, wanted]) await b.publish(exchange, `${topic}.info`, body);
  const run = await listen.done;
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.equal(lines.length, 2, run.stdout);
  const line = lines[0] ?? '';
  assert.ok(line.startsWith(`{"body":${wanted},"exchange":`), `not verbatim: ${line}`);
  const record = JSON.parse(line);
  assert.equal(record.exchange, exchange);
  assert.equal(record.routing_key, `${topic}.info`);
  assert.equal(record.properties.content_type, 'application/json');

  // What listen --raw wrote goes back where it came from, byte for byte, with republish.
  const copy = uniqueName('relisten');
  b.cleanup({ queues: [copy] });
  await b.channel(async (ch) => {
    await ch.assertQueue(copy, { durable: false });
    await ch.bindQueue(copy, exchange, `${topic}.info`);
  });
  const dir = await mkdtemp(join(tmpdir(), 'omtc_'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'listen.jsonl');
  await writeFile(file, run.stdout);
  const sent = await cli(['republish', file, '--url', URL_]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stderr, 'republished 1 message\n');
  const again = await b.channel(async (ch) => ch.get(copy, { noAck: true }));
  assert.ok(again !== false, 'nothing arrived at the captured exchange and routing key');
  assert.equal(again.content.toString(), wanted);
  assert.equal(again.fields.exchange, exchange);
  assert.equal(again.fields.routingKey, `${topic}.info`);
});

test('cli listen - pretty output names exchange, routing key, priority and message id', async (t) => {
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('pretty');
  b.cleanup({ exchanges: [exchange] });
  const common = ['--url', URL_, '--exchange', exchange, '--topic', topic];
  const listen = background(t, ['listen', ...common, '--count', '1'], /listening/);
  await listen.ready;
  const body = pythonNotification({
    eventType: 'compute.instance.update',
    publisherId: 'nova-compute:h1',
    priority: 'WARN',
    payload: '{"n": 12345678901234567890}',
  });
  await b.publish(exchange, `${topic}.warn`, body);
  const run = await listen.done;
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    /^2026-11-29 05:04:52\.838860 {2}WARN {6}compute\.instance\.update {2}publisher=nova-compute:h1 {2}id=[0-9a-f-]{36}\n/,
  );
  assert.match(run.stdout, new RegExp(`\\n  exchange=${exchange} routing_key=${topic}\\.warn\\n`));
  // The integer is printed as sent, not rounded to a double.
  assert.match(run.stdout, /"n": 12345678901234567890\n/);
});

test('cli peek - shows the backlog and leaves it; republish sends the captured bytes again; move moves', async (t) => {
  const b = await broker(t);
  const queue = uniqueName('backlog');
  const copy = uniqueName('copy');
  const parked = uniqueName('parked');
  b.cleanup({ queues: [queue, copy, parked] });
  await b.channel(async (ch) => {
    for (const q of [queue, copy, parked]) await ch.assertQueue(q, { durable: false });
  });
  const bodies = [1, 2, 3].map((i) =>
    pythonNotification({ eventType: `e.${i}`, publisherId: `p.${i}`, payload: `{"i": ${i}}` }),
  );
  for (const body of bodies) await b.publish('', queue, body);

  const two = await cli(['peek', queue, '--url', URL_, '--count', '2', '--format', 'json']);
  assert.equal(two.code, 0, two.stderr);
  assert.deepEqual(
    two.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event_type: string }).event_type),
    ['e.1', 'e.2'],
  );
  assert.equal(await b.messageCount(queue), 3, 'peek removed messages');

  const filtered = await cli([
    'peek',
    queue,
    '--url',
    URL_,
    '--publisher',
    '^p\\.[13]',
    '--format',
    'json',
  ]);
  assert.deepEqual(
    filtered.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event_type: string }).event_type),
    ['e.1', 'e.3'],
  );

  const raw = await cli(['peek', queue, '--url', URL_, '--raw']);
  assert.equal(raw.code, 0, raw.stderr);
  const records = raw.stdout.trim().split('\n');
  assert.equal(records.length, 3);
  assert.equal(JSON.parse(records[0] ?? '').redelivered, true, 'a peeked message is redelivered');
  assert.equal(await b.messageCount(queue), 3);

  const dir = await mkdtemp(join(tmpdir(), 'omtc_'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'capture.jsonl');
  await writeFile(file, raw.stdout);
  const sent = await cli([
    'republish',
    file,
    '--url',
    URL_,
    '--exchange',
    '',
    '--routing-key',
    copy,
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stderr, 'republished 3 messages\n');
  const copied = await b.channel(async (ch) => {
    const out: string[] = [];
    for (
      let m = await ch.get(copy, { noAck: true });
      m !== false;
      m = await ch.get(copy, { noAck: true })
    ) {
      out.push(m.content.toString());
      assert.equal(m.properties.contentType, 'application/json');
      assert.equal(m.properties.deliveryMode, 2);
    }
    return out;
  });
  assert.deepEqual(copied, bodies, 'republished bodies differ from the captured ones');

  const unroutable = await cli([
    'republish',
    file,
    '--url',
    URL_,
    '--exchange',
    '',
    '--routing-key',
    uniqueName('none'),
  ]);
  assert.equal(unroutable.code, 1);
  assert.match(unroutable.stderr, /3 of 3 messages reached no queue/);

  const moved = await cli(['move', queue, '--to-queue', parked, '--count', '2', '--url', URL_]);
  assert.equal(moved.code, 0, moved.stderr);
  assert.equal(moved.stderr, `moved 2 messages from ${queue}\n`);
  assert.equal(await b.messageCount(queue), 1);
  assert.equal(await b.messageCount(parked), 2);
});

test('cli peek and move - a queue that does not exist is one line, exit status 1, and is not created', async (t) => {
  const b = await broker(t);
  const missing = uniqueName('missing');
  const target = uniqueName('target');
  const peek = await cli(['peek', missing, '--url', URL_]);
  assert.deepEqual(peek, {
    code: 1,
    stdout: '',
    stderr: `oslo-messaging: no queue '${missing}' in virtual host '/'\n`,
  });
  const move = await cli(['move', missing, '--to-queue', target, '--url', URL_]);
  assert.deepEqual(move, {
    code: 1,
    stdout: '',
    stderr: `oslo-messaging: no queue '${missing}'\n`,
  });
  const exists = await b.channel(async (ch) => {
    ch.on('error', () => undefined);
    return ch.checkQueue(missing).then(
      () => true,
      () => false,
    );
  });
  assert.equal(exists, false);
});

test('cli peek - a stream queue is read from its first message, and keeps it', async (t) => {
  const b = await broker(t);
  const stream = uniqueName('stream');
  b.cleanup({ queues: [stream] });
  await b.channel((ch) =>
    ch.assertQueue(stream, { durable: true, arguments: { 'x-queue-type': 'stream' } }),
  );
  for (const i of [1, 2]) {
    await b.publish(
      '',
      stream,
      pythonNotification({ eventType: `s.${i}`, publisherId: 'p', payload: '{}' }),
    );
  }
  const run = await cli(['peek', stream, '--url', URL_, '--format', 'json']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    run.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event_type: string }).event_type),
    ['s.1', 's.2'],
  );
  const again = await cli(['peek', stream, '--url', URL_, '--format', 'json', '--count', '1']);
  assert.equal(again.stdout.trim().split('\n').length, 1);
});

test('cli peek --since - a stream queue is read from that time (a stream offset), not from its start', async (t) => {
  const b = await broker(t);
  const stream = uniqueName('stream');
  b.cleanup({ queues: [stream] });
  await b.channel((ch) =>
    ch.assertQueue(stream, { durable: true, arguments: { 'x-queue-type': 'stream' } }),
  );
  // Both notifications claim a time after --since, so only the stream offset can tell them
  // apart: the first is stored before that time, the second after it.
  const later = oslotime(new Date(Date.now() + 3_600_000));
  const body = (eventType: string) =>
    pythonNotification({ eventType, publisherId: 'p', payload: '{}', timestamp: later });
  await b.publish('', stream, body('s.before'));
  // Stream offsets by time are whole seconds.
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  const since = oslotime(new Date(Date.now() - 500)).slice(0, 19);
  await b.publish('', stream, body('s.after'));

  const run = await cli(['peek', stream, '--url', URL_, '--format', 'json', '--since', since]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    run.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event_type: string }).event_type),
    ['s.after'],
  );
  const all = await cli(['peek', stream, '--url', URL_, '--format', 'json']);
  assert.equal(all.stdout.trim().split('\n').length, 2, 'peek took messages from the stream');
});

test('cli queues - lists oslo queues with depth, consumers and type (classic, quorum, stream), AMQP only', async (t) => {
  const b = await broker(t);
  const topic = uniqueName('q');
  const pool = uniqueName('pool');
  b.cleanup({ queues: [`${topic}.info`, `${topic}.error`, `${topic}.h1`, pool] });
  await b.channel(async (ch) => {
    await ch.assertQueue(`${topic}.info`, { durable: false });
    await ch.assertQueue(`${topic}.error`, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await ch.assertQueue(`${topic}.h1`, { durable: false, arguments: { 'x-expires': 60_000 } });
    await ch.assertQueue(pool, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    await ch.consume(`${topic}.info`, () => undefined);
    ch.sendToQueue(`${topic}.h1`, Buffer.from('{}'));
    // Consumers count while the channel is open: ask before closing it.
    const common = [
      '--url',
      URL_,
      '--only-given',
      '--topic',
      topic,
      '--server',
      'h1',
      '--pool',
      pool,
    ];
    const run = await cli(['queues', ...common, '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const listed = JSON.parse(run.stdout);
    assert.deepEqual(
      listed.queues.map((q: Record<string, unknown>) => [
        q.name,
        q.type,
        q.messages,
        q.consumers,
        q.kind,
      ]),
      [
        [`${topic}.h1`, 'classic', 1, 0, 'rpc-server'],
        [`${topic}.info`, 'classic', 0, 1, 'notifications'],
        [`${topic}.error`, 'quorum', 0, 0, 'notifications'],
        [pool, 'stream', 0, 0, 'pool'],
      ],
    );
    const table = await cli(['queues', ...common]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^QUEUE +TYPE +MESSAGES +CONSUMERS +KIND$/m);
    assert.match(table.stdout, new RegExp(`^${topic}\\.error +quorum +0 +0 +notifications$`, 'm'));
  });

  // Exchanges: the one given is listed, one that does not exist is not.
  const exchange = uniqueName('x');
  const absent = uniqueName('x');
  b.cleanup({ exchanges: [exchange] });
  await b.channel((ch) => ch.assertExchange(exchange, 'topic', { durable: false }));
  const run = await cli([
    'queues',
    '--url',
    URL_,
    '--only-given',
    '--topic',
    topic,
    '--exchange',
    exchange,
    '--exchange',
    absent,
    '--format',
    'json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const names = (JSON.parse(run.stdout) as { exchanges: { name: string }[] }).exchanges.map(
    (x) => x.name,
  );
  assert.ok(names.includes(exchange), `${exchange} not listed: ${run.stdout}`);
  assert.ok(!names.includes(absent), `${absent} listed`);
  // Passive declares only: what the tool looked for and did not find still does not exist.
  const exists = (check: (ch: Channel) => Promise<unknown>) =>
    b.channel(async (ch) => {
      // A failed passive declare closes the channel with an error event.
      ch.on('error', () => undefined);
      return check(ch).then(
        () => true,
        () => false,
      );
    });
  for (const missing of [`${topic}.warn`, `${topic}.audit`, topic]) {
    assert.equal(await exists((ch) => ch.checkQueue(missing)), false, `${missing} was created`);
  }
  assert.equal(await exists((ch) => ch.checkExchange(absent)), false, `${absent} was created`);
  assert.equal(await exists((ch) => ch.checkExchange(exchange)), true);
});
