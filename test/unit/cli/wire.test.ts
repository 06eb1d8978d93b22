/**
 * The CLI's wire view without a broker: capture records keep bodies byte for byte,
 * oslo messages decode with their delivery fields, selections follow NotificationFilter,
 * `--since` reads durations and oslo's timestamps, rates slide.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RateTable } from '../../../src/cli/top/rates.js';
import { decodeDelivery, topicOf } from '../../../src/cli/wire/decode.js';
import { formatRecord, parseRecord, type Delivery } from '../../../src/cli/wire/record.js';
import { oslotime, parseSince, selectionOf } from '../../../src/cli/wire/select.js';

const INNER =
  '{"message_id": "bb69211e-633d-4530-820f-3d3b315fd53b", "publisher_id": "owire.host1", ' +
  '"event_type": "owire.instance.create.end", "priority": "INFO", "payload": {"id": 123456789012345678901, ' +
  '"name": "caf\\u00e9", "body": {"a": 1}}, "timestamp": "2026-11-29 05:04:52.838860", ' +
  '"_unique_id": "25be4d38f4314f6abcb35218d7e5edbc", "_context_user_id": "u-1"}';
const BODY = `{"oslo.version": "2.0", "oslo.message": ${JSON.stringify(INNER)}}`;

function delivery(body: string | Buffer, key = 'notifications.info'): Delivery {
  return {
    exchange: 'nova',
    routingKey: key,
    redelivered: false,
    properties: { content_type: 'application/json', headers: { body: ',"body":' } },
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  };
}

test('capture record - the body comes first and byte for byte, and reads back identical', () => {
  const line = formatRecord(delivery(BODY));
  assert.ok(line.startsWith(`{"body":${BODY},"exchange":"nova"`));
  assert.ok(!line.includes('\n'));
  const back = parseRecord(line);
  assert.equal(back.body.toString(), BODY);
  assert.equal(back.routingKey, 'notifications.info');
  assert.deepEqual(back.properties, {
    content_type: 'application/json',
    headers: { body: ',"body":' },
  });
});

test('capture record - bodies that are not one-line JSON are kept as text or base64', () => {
  for (const body of ['{"a":\n 1}', 'not json', '{"n": NaN}', Buffer.from([0xff, 0x00, 0x41])]) {
    const line = formatRecord(delivery(body));
    assert.ok(!line.includes('\n'));
    assert.deepEqual(parseRecord(line).body, Buffer.isBuffer(body) ? body : Buffer.from(body));
  }
});

test('capture record - a line that is no record is a SyntaxError', () => {
  assert.throws(() => parseRecord('[1]'), SyntaxError);
  assert.throws(() => parseRecord('{"body": {}}'), /routing_key/);
  assert.throws(() => parseRecord('{"routing_key": "k"}'), /no body/);
});

test('decode - a notification shows priority, ids, payload with exact integers, context', () => {
  const m = decodeDelivery(delivery(BODY));
  assert.equal(m.kind, 'notification');
  assert.equal(m.envelope, '2.0');
  assert.equal(m.priority, 'INFO');
  assert.equal(m.message_id, 'bb69211e-633d-4530-820f-3d3b315fd53b');
  assert.deepEqual(m.payload, { id: 123456789012345678901n, name: 'café', body: { a: 1 } });
  assert.deepEqual(m.context, { user_id: 'u-1' });
  assert.equal(topicOf(m), 'notifications');
});

test('decode - RPC requests, replies and junk', () => {
  const rpc = decodeDelivery(
    delivery(
      '{"method": "resize", "args": {"f": 1}, "_msg_id": "abc", "version": "5.0"}',
      'compute.host1',
    ),
  );
  assert.equal(rpc.kind, 'rpc');
  assert.equal(rpc.envelope, null);
  assert.equal(rpc.method, 'resize');
  assert.equal(topicOf(rpc), 'compute');
  assert.equal(decodeDelivery(delivery('{"result": 1, "ending": true}')).kind, 'reply');
  const junk = decodeDelivery(delivery('nope'));
  assert.equal(junk.kind, 'unknown');
  assert.match(junk.error ?? '', /^not JSON/);
  assert.equal(decodeDelivery(delivery(Buffer.from([0xff]))).error, 'body is not UTF-8');
});

test('selection - --filter KEY=REGEX matches at the start as re.match; --since skips older notifications', () => {
  const m = decodeDelivery(delivery(BODY));
  const select = (values: Record<string, string | string[]>) =>
    selectionOf(values, Date.parse('2026-11-29T06:00:00Z'));
  assert.equal(select({ filter: ['event_type=owire\\.instance'] }).matches(m), true);
  assert.equal(select({ filter: ['event_type=instance'] }).matches(m), false);
  assert.equal(select({ filter: ['payload.name=^caf'] }).matches(m), true);
  assert.equal(select({ filter: ['payload.id=^1'] }).matches(m), false, 'numbers never match');
  assert.equal(select({ filter: ['context.user_id=^u-'], publisher: '^owire' }).matches(m), true);
  assert.equal(select({ since: '1h' }).matches(m), true);
  assert.equal(select({ since: '30m' }).matches(m), false);
  assert.throws(() => select({ filter: ['state=x'] }), /KEY=REGEX/);
  assert.throws(() => select({ since: 'yesterday' }), /--since/);
});

test('selection - patterns are Python regular expressions: inline flags, \\Z, named groups, Python-only escapes', () => {
  const m = decodeDelivery(delivery(BODY));
  const matches = (filter: string) => selectionOf({ filter: [filter] }, 0).matches(m);
  assert.equal(matches('event_type=(?i)OWIRE\\.INSTANCE'), true);
  assert.equal(matches('event_type=owire\\.instance\\.create\\.end\\Z'), true);
  assert.equal(matches('event_type=owire\\.instance\\Z'), false);
  assert.equal(matches('publisher_id=(?P<service>owire)\\.(?P=service)?host'), true);
  // \A is Python's start of string; JavaScript has no such escape.
  assert.equal(matches('publisher_id=\\Aowire'), true);
  // What Python refuses is refused with Python's reason.
  assert.throws(() => matches('event_type=(?<'), /PatternError/);
});

test('since - durations count back from now; oslo and ISO times are UTC', () => {
  assert.equal(parseSince('90s', 100_000), 10_000);
  assert.equal(parseSince('2h', 10_000_000), 10_000_000 - 7_200_000);
  assert.equal(oslotime('2026-11-29 05:04:52'), Date.parse('2026-11-29T05:04:52Z'));
  assert.equal(oslotime('2026-11-29 05:04:52.838860'), Date.parse('2026-11-29T05:04:52.838Z'));
  assert.equal(oslotime('2026-11-29T05:04:52+01:00'), Date.parse('2026-11-29T04:04:52Z'));
  assert.equal(oslotime('soon'), undefined);
});

test('rates - per-key rates over a sliding window of one-second buckets', () => {
  const t = new RateTable(2);
  for (let i = 0; i < 4; i++) t.add('a');
  t.add('b');
  assert.deepEqual(
    t.rows().map((r) => [r.key, r.rate, r.total]),
    [
      ['a', 0, 4],
      ['b', 0, 1],
    ],
  );
  t.tick();
  assert.deepEqual(
    t.rows().map((r) => [r.key, r.rate]),
    [
      ['a', 4],
      ['b', 1],
    ],
  );
  t.tick();
  t.add('b');
  t.tick();
  t.tick();
  assert.deepEqual(
    t.rows().map((r) => [r.key, r.rate, r.total]),
    [
      ['b', 0.5, 2],
      ['a', 0, 4],
    ],
  );
  assert.deepEqual(t.sum(), { rate: 0.5, total: 6 });
});
