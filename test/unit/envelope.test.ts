import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  buildNotification,
  buildRpcReply,
  buildRpcRequest,
  decodeMessage,
  encodeEnvelope,
  encodeMessage,
  encodeNotification,
  formatNotificationTimestamp,
  hex32,
  packContext,
  parseNotificationTimestamp,
  unpackContext,
  uuid36,
} from '../../src/wire/envelope.js';
import { pyDumps } from '../../src/wire/pyjson.js';
import { MalformedMessage, UnsupportedRpcEnvelopeVersion } from '../../src/errors.js';

// Bodies captured from Python oslo.messaging 14.0.3 on RabbitMQ 3.10, byte for byte.
const captured = {
  // raw-rpc-srv1.jsonl line 1
  CALL_ECHO: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"method\": \"echo\", \"args\": {\"a\": 1, \"b\": \"caf\\u00e9 \\u2603\", \"c\": [1, 2, 3], \"d\": null, \"e\": {\"x\": 1.5, \"y\": true}}, \"_msg_id\": \"3524b63210dd4dd5b9e03d01b88370d5\", \"_reply_q\": \"reply_d124c15acc4a410a84ae80ad465fc8be\", \"_timeout\": null, \"_unique_id\": \"d085c07dc4654f47872e3663018f844d\", \"_context_user_id\": \"u-1\", \"_context_project_id\": \"p-1\", \"_context_request_id\": \"req-123\", \"_context_auth_token\": \"SECRET-TOKEN\", \"_context_roles\": [\"admin\", \"member\"], \"_context_is_admin\": true}"}`,
  // raw-rpc-srv1.jsonl line 3
  CAST_RECORD: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"method\": \"record\", \"args\": {\"x\": 3}, \"_unique_id\": \"105b1b0a7d8e4120874598735915ddd8\", \"_context_user_id\": \"u-1\", \"_context_project_id\": \"p-1\", \"_context_request_id\": \"req-123\", \"_context_auth_token\": \"SECRET-TOKEN\", \"_context_roles\": [\"admin\", \"member\"], \"_context_is_admin\": true}"}`,
  // side-rpc.jsonl line 16
  CALL_NAMESPACE: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"method\": \"nsmethod\", \"args\": {\"x\": 21}, \"namespace\": \"owire_ns\", \"version\": \"1.2\", \"_msg_id\": \"62751dad94904cd7ae19983b93036031\", \"_reply_q\": \"reply_d124c15acc4a410a84ae80ad465fc8be\", \"_timeout\": null, \"_unique_id\": \"03ac437cdfcd47b4acdacf88cedc57a5\", \"_context_user_id\": \"u-1\", \"_context_project_id\": \"p-1\", \"_context_request_id\": \"req-123\", \"_context_auth_token\": \"SECRET-TOKEN\", \"_context_roles\": [\"admin\", \"member\"], \"_context_is_admin\": true}"}`,
  // raw-rpc-srv2.jsonl line 10
  CALL_MONITOR: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"method\": \"slow\", \"args\": {\"secs\": 4}, \"_msg_id\": \"c7b7e315eaaa4094be53c493126b2489\", \"_reply_q\": \"reply_d124c15acc4a410a84ae80ad465fc8be\", \"_timeout\": 2, \"_unique_id\": \"2d1167af320b4e75a3b32c3fb636e901\", \"_context_user_id\": \"u-1\", \"_context_project_id\": \"p-1\", \"_context_request_id\": \"req-123\", \"_context_auth_token\": \"SECRET-TOKEN\", \"_context_roles\": [\"admin\", \"member\"], \"_context_is_admin\": true}"}`,
  // raw-rpc-client.jsonl line 4
  REPLY_PONG: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"result\": \"pong\", \"failure\": null, \"ending\": true, \"_msg_id\": \"ca27ebca177840d3b4b79aa2e2af1add\", \"_unique_id\": \"74efe493c0544eb49e87cb6d510839c0\"}"}`,
  // raw-rpc-client.jsonl line 18
  REPLY_HEARTBEAT: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"result\": null, \"failure\": null, \"ending\": false, \"_msg_id\": \"c7b7e315eaaa4094be53c493126b2489\", \"_unique_id\": \"533825eb09cc4b418a6e95a4d5f71273\"}"}`,
  // raw-rpc-client.jsonl line 6
  REPLY_VALUE_ERROR: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"result\": null, \"failure\": \"{\\\"class\\\": \\\"ValueError\\\", \\\"module\\\": \\\"builtins\\\", \\\"message\\\": \\\"('bad value', 42)\\\", \\\"tb\\\": [\\\"Traceback (most recent call last):\\\\n\\\", \\\"  File \\\\\\\"site-packages/oslo_messaging/rpc/server.py\\\\\\\", line 165, in _process_incoming\\\\n    res = self.dispatcher.dispatch(message)\\\\n          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\\\\n\\\", \\\"  File \\\\\\\"site-packages/oslo_messaging/rpc/dispatcher.py\\\\\\\", line 309, in dispatch\\\\n    return self._do_dispatch(endpoint, method, ctxt, args)\\\\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\\\\n\\\", \\\"  File \\\\\\\"site-packages/oslo_messaging/rpc/dispatcher.py\\\\\\\", line 229, in _do_dispatch\\\\n    result = func(ctxt, **new_args)\\\\n             ^^^^^^^^^^^^^^^^^^^^^^\\\\n\\\", \\\"  File \\\\\\\"scripts/rpc_server.py\\\\\\\", line 50, in boom\\\\n    raise ValueError('bad value', 42)\\\\n\\\", \\\"ValueError: ('bad value', 42)\\\\n\\\"], \\\"args\\\": [\\\"bad value\\\", 42], \\\"kwargs\\\": {}}\", \"ending\": true, \"_msg_id\": \"6f68299b1be746f78d003902c4312aa7\", \"_unique_id\": \"8e66eb1f93a04595ab8a21e79581f69d\"}"}`,
  // raw-rpc-client.jsonl line 7
  REPLY_OWIRE_ERROR: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"result\": null, \"failure\": \"{\\\"class\\\": \\\"OwireError\\\", \\\"module\\\": \\\"owire_exc\\\", \\\"message\\\": \\\"owire failed: {'code': 409, 'reason': 'conflict'}\\\", \\\"tb\\\": [\\\"Traceback (most recent call last):\\\\n\\\", \\\"  File \\\\\\\"site-packages/oslo_messaging/rpc/server.py\\\\\\\", line 165, in _process_incoming\\\\n    res = self.dispatcher.dispatch(message)\\\\n          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\\\\n\\\", \\\"  File \\\\\\\"site-packages/oslo_messaging/rpc/dispatcher.py\\\\\\\", line 309, in dispatch\\\\n    return self._do_dispatch(endpoint, method, ctxt, args)\\\\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\\\\n\\\", \\\"  File \\\\\\\"site-packages/oslo_messaging/rpc/dispatcher.py\\\\\\\", line 229, in _do_dispatch\\\\n    result = func(ctxt, **new_args)\\\\n             ^^^^^^^^^^^^^^^^^^^^^^\\\\n\\\", \\\"  File \\\\\\\"scripts/rpc_server.py\\\\\\\", line 54, in custom_fail\\\\n    raise owire_exc.OwireError(code=409, reason='conflict')\\\\n\\\", \\\"owire_exc.OwireError: owire failed: {'code': 409, 'reason': 'conflict'}\\\\n\\\"], \\\"args\\\": [\\\"owire failed: {'code': 409, 'reason': 'conflict'}\\\"], \\\"kwargs\\\": {\\\"code\\\": 409, \\\"reason\\\": \\\"conflict\\\"}}\", \"ending\": true, \"_msg_id\": \"c26fc8145638413fbffab73cdc3fc661\", \"_unique_id\": \"bce50ce97a1347d9a8961d9f9f4e4f52\"}"}`,
  // raw-notif-plain.jsonl line 1
  NOTIFY_V2: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"message_id\": \"bb69211e-633d-4530-820f-3d3b315fd53b\", \"publisher_id\": \"owire.host1\", \"event_type\": \"owire.instance.create.end\", \"priority\": \"INFO\", \"payload\": {\"state\": \"active\", \"id\": 1, \"when\": \"2024-05-06T07:08:09.123456\", \"name\": \"caf\\u00e9\"}, \"timestamp\": \"2026-11-29 05:04:52.838860\", \"_unique_id\": \"25be4d38f4314f6abcb35218d7e5edbc\", \"_context_user_id\": \"u-1\", \"_context_project_id\": \"p-1\", \"_context_request_id\": \"req-n1\", \"_context_roles\": [\"admin\"], \"_context_is_admin\": false}"}`,
  // raw-notif-plain.jsonl line 11
  NOTIFY_V2_REQUEST_CONTEXT: String.raw`{"oslo.version": "2.0", "oslo.message": "{\"message_id\": \"058e7770-c9b5-452a-91c9-e5c6139cbd6e\", \"publisher_id\": \"owire.host2\", \"event_type\": \"owire.request_context\", \"priority\": \"INFO\", \"payload\": {\"k\": \"v\"}, \"timestamp\": \"2026-11-29 05:04:52.965441\", \"_unique_id\": \"7391f9deacdc497b9cd8fe9a63c04f3b\", \"_context_user\": \"u-2\", \"_context_project_id\": \"p-2\", \"_context_system_scope\": null, \"_context_project\": \"p-2\", \"_context_domain\": null, \"_context_user_domain\": null, \"_context_project_domain\": null, \"_context_is_admin\": false, \"_context_read_only\": false, \"_context_show_deleted\": false, \"_context_auth_token\": null, \"_context_request_id\": \"req-rc\", \"_context_global_request_id\": null, \"_context_resource_uuid\": null, \"_context_roles\": [\"reader\"], \"_context_user_identity\": \"u-2 p-2 - - -\", \"_context_is_admin_project\": true}"}`,
  // raw-notif-plain.jsonl line 12
  NOTIFY_V1: String.raw`{"message_id": "2562f52c-652d-4150-86eb-a6687c6ac561", "publisher_id": "owire.v1host", "event_type": "owire.v1.event", "priority": "INFO", "payload": {"when": "2024-05-06T07:08:09.123456", "n": 1}, "timestamp": "2026-11-29 05:04:52.968140", "_unique_id": "576b6e82be3348e28df431ed1971a4c8", "_context_user_id": "u-1", "_context_project_id": "p-1", "_context_request_id": "req-n1", "_context_roles": ["admin"], "_context_is_admin": false}`,
} as const;
const rpcContext = {
  user_id: 'u-1',
  project_id: 'p-1',
  request_id: 'req-123',
  auth_token: 'SECRET-TOKEN',
  roles: ['admin', 'member'],
  is_admin: true,
};
const replyQ = 'reply_d124c15acc4a410a84ae80ad465fc8be';

test('golden - a call with non-ASCII arguments is byte-identical to Python', () => {
  const msg = buildRpcRequest(
    {
      method: 'echo',
      args: { a: 1, b: 'caf\u00e9 \u2603', c: [1, 2, 3], d: null, e: { x: 1.5, y: true } },
    },
    {
      msgId: '3524b63210dd4dd5b9e03d01b88370d5',
      replyQ,
      timeout: null,
      uniqueId: 'd085c07dc4654f47872e3663018f844d',
    },
    rpcContext,
  );
  assert.equal(encodeEnvelope(msg), captured.CALL_ECHO);
});

test('golden - a cast has no _msg_id, _reply_q or _timeout', () => {
  const msg = buildRpcRequest(
    { method: 'record', args: { x: 3 } },
    { uniqueId: '105b1b0a7d8e4120874598735915ddd8' },
    rpcContext,
  );
  assert.equal(encodeEnvelope(msg), captured.CAST_RECORD);
});

test('golden - namespace and version come after args', () => {
  const msg = buildRpcRequest(
    { method: 'nsmethod', args: { x: 21 }, namespace: 'owire_ns', version: '1.2' },
    {
      msgId: '62751dad94904cd7ae19983b93036031',
      replyQ,
      uniqueId: '03ac437cdfcd47b4acdacf88cedc57a5',
    },
    rpcContext,
  );
  assert.equal(encodeEnvelope(msg), captured.CALL_NAMESPACE);
});

test('golden - the call-monitor timeout travels as _timeout', () => {
  const msg = buildRpcRequest(
    { method: 'slow', args: { secs: 4 } },
    {
      msgId: 'c7b7e315eaaa4094be53c493126b2489',
      replyQ,
      timeout: 2,
      uniqueId: '2d1167af320b4e75a3b32c3fb636e901',
    },
    rpcContext,
  );
  assert.equal(encodeEnvelope(msg), captured.CALL_MONITOR);
});

test('golden - a final reply and a heartbeat', () => {
  const reply = buildRpcReply({
    result: 'pong',
    msgId: 'ca27ebca177840d3b4b79aa2e2af1add',
    uniqueId: '74efe493c0544eb49e87cb6d510839c0',
  });
  assert.equal(encodeEnvelope(reply), captured.REPLY_PONG);
  const heartbeat = buildRpcReply({
    result: null,
    failure: null,
    ending: false,
    msgId: 'c7b7e315eaaa4094be53c493126b2489',
    uniqueId: '533825eb09cc4b418a6e95a4d5f71273',
  });
  assert.equal(encodeEnvelope(heartbeat), captured.REPLY_HEARTBEAT);
});

for (const name of ['REPLY_VALUE_ERROR', 'REPLY_OWIRE_ERROR'] as const) {
  test(`golden - a failure reply (three JSON levels) is byte-identical (${name})`, () => {
    const decoded = decodeMessage(captured[name]);
    const failure = decoded['failure'] as string;
    // The failure text itself is Python json.dumps output: re-serialising its data gives it back.
    assert.equal(pyDumps(JSON.parse(failure)), failure);
    const reply = buildRpcReply({
      result: null,
      failure,
      ending: true,
      msgId: decoded['_msg_id'] as string,
      uniqueId: decoded['_unique_id'] as string,
    });
    assert.equal(encodeEnvelope(reply), captured[name]);
  });
}

const notifyContext = {
  user_id: 'u-1',
  project_id: 'p-1',
  request_id: 'req-n1',
  roles: ['admin'],
  is_admin: false,
};

test('golden - a messagingv2 notification is byte-identical', () => {
  const msg = buildNotification(
    {
      messageId: 'bb69211e-633d-4530-820f-3d3b315fd53b',
      publisherId: 'owire.host1',
      eventType: 'owire.instance.create.end',
      priority: 'INFO',
      payload: { state: 'active', id: 1, when: '2024-05-06T07:08:09.123456', name: 'caf\u00e9' },
      timestamp: '2026-11-29 05:04:52.838860',
      uniqueId: '25be4d38f4314f6abcb35218d7e5edbc',
    },
    notifyContext,
  );
  assert.equal(encodeEnvelope(msg), captured.NOTIFY_V2);
});

test('golden - a notification whose context holds nulls round-trips byte for byte', () => {
  const { ctxt, message, uniqueId } = unpackContext(
    decodeMessage(captured.NOTIFY_V2_REQUEST_CONTEXT),
  );
  const { client_timeout: clientTimeout, ...sent } = ctxt;
  assert.equal(clientTimeout, null);
  assert.equal(sent['auth_token'], null);
  const msg = buildNotification(
    {
      messageId: message['message_id'] as string,
      publisherId: message['publisher_id'] as string,
      eventType: message['event_type'] as string,
      priority: message['priority'] as string,
      payload: message['payload'],
      timestamp: message['timestamp'] as string,
      uniqueId,
    },
    sent,
  );
  assert.equal(encodeEnvelope(msg), captured.NOTIFY_V2_REQUEST_CONTEXT);
});

test('golden - a messaging (v1) notification is the bare message', () => {
  const msg = buildNotification(
    {
      messageId: '2562f52c-652d-4150-86eb-a6687c6ac561',
      publisherId: 'owire.v1host',
      eventType: 'owire.v1.event',
      priority: 'INFO',
      payload: { when: '2024-05-06T07:08:09.123456', n: 1 },
      timestamp: '2026-11-29 05:04:52.968140',
      uniqueId: '576b6e82be3348e28df431ed1971a4c8',
    },
    notifyContext,
  );
  assert.equal(encodeMessage(msg), captured.NOTIFY_V1);
});

test('golden - decoding the echo call restores arguments, context and routing keys', () => {
  const unpacked = unpackContext(decodeMessage(captured.CALL_ECHO));
  assert.deepEqual(unpacked.message, {
    method: 'echo',
    args: { a: 1, b: 'caf\u00e9 \u2603', c: [1, 2, 3], d: null, e: { x: 1.5, y: true } },
  });
  assert.deepEqual(unpacked.ctxt, { ...rpcContext, client_timeout: null });
  assert.equal(unpacked.msgId, '3524b63210dd4dd5b9e03d01b88370d5');
  assert.equal(unpacked.replyQ, replyQ);
  assert.equal(unpacked.clientTimeout, null);
  assert.equal(unpacked.uniqueId, 'd085c07dc4654f47872e3663018f844d');
});

test('golden - the call-monitor value reaches the context as client_timeout', () => {
  const unpacked = unpackContext(decodeMessage(captured.CALL_MONITOR));
  assert.equal(unpacked.clientTimeout, 2);
  assert.equal(unpacked.ctxt['client_timeout'], 2);
});

test('decodeMessage - a Buffer of the body decodes like the string', () => {
  assert.deepEqual(
    decodeMessage(Buffer.from(captured.CALL_ECHO)),
    decodeMessage(captured.CALL_ECHO),
  );
});

test('decodeMessage - accepts compact JSON and raw UTF-8 at both levels', () => {
  const inner = JSON.stringify({ method: 'echo', args: { b: 'caf\u00e9 \u2603' } });
  const body = JSON.stringify({ 'oslo.message': inner, 'oslo.version': '2.0' });
  assert.deepEqual(decodeMessage(Buffer.from(body, 'utf8')), {
    method: 'echo',
    args: { b: 'caf\u00e9 \u2603' },
  });
});

test('decodeMessage - an object without both envelope keys is a bare 1.0 message', () => {
  assert.deepEqual(decodeMessage('{"method": "echo", "args": {}}'), { method: 'echo', args: {} });
  assert.deepEqual(decodeMessage('{"oslo.version": "9.9", "x": 1}'), {
    'oslo.version': '9.9',
    x: 1,
  });
  assert.deepEqual(decodeMessage('{"oslo.message": "{}"}'), { 'oslo.message': '{}' });
});

test("decodeMessage - accepts Python's NaN and Infinity", () => {
  const body = pyDumps({
    'oslo.version': '2.0',
    'oslo.message': '{"payload": {"v": NaN, "w": -Infinity}}',
  });
  assert.deepEqual(decodeMessage(body), { payload: { v: NaN, w: -Infinity } });
});

for (const version of ['2.0', '2.0.0', '02.0']) {
  test(`decodeMessage - accepts envelope version ${version}`, () => {
    const body = pyDumps({ 'oslo.version': version, 'oslo.message': '{"k": 1}' });
    assert.deepEqual(decodeMessage(body), { k: 1 });
  });
}

for (const version of ['2.1', '1.9', '1.0', '3.0', '2', '2.0.1', 'two', '', 2, null, ['2.0']]) {
  test(`decodeMessage - refuses envelope version ${JSON.stringify(version)} with UnsupportedRpcEnvelopeVersion`, () => {
    const body = pyDumps({ 'oslo.version': version, 'oslo.message': '{"k": 1}' });
    assert.throws(() => decodeMessage(body), UnsupportedRpcEnvelopeVersion);
  });
}

const malformed: [string, string | Uint8Array][] = [
  ['invalid JSON', '{"oslo.version": "2.0",'],
  ['an empty body', ''],
  ['a JSON array', '[1, 2]'],
  ['a JSON string', '"text"'],
  ['JSON null', 'null'],
  ['an oslo.message that is an object', '{"oslo.version": "2.0", "oslo.message": {"k": 1}}'],
  ['an oslo.message that is null', '{"oslo.version": "2.0", "oslo.message": null}'],
  ['an oslo.message that is not JSON', '{"oslo.version": "2.0", "oslo.message": "{nope"}'],
  ['an oslo.message holding an array', '{"oslo.version": "2.0", "oslo.message": "[1]"}'],
  [
    'an oslo.message holding a string',
    String.raw`{"oslo.version": "2.0", "oslo.message": "\"x\""}`,
  ],
  ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
];

for (const [name, body] of malformed) {
  test(`decodeMessage - refuses ${name} with MalformedMessage`, () => {
    assert.throws(() => decodeMessage(body), MalformedMessage);
  });
}

test('packContext - appends _context_<key> entries after the message keys, values unchanged', () => {
  const msg = packContext(
    { method: 'm', _unique_id: 'u' },
    { user: 'u-1', nested: { a: [1] }, n: null },
  );
  assert.deepEqual(Object.keys(msg), [
    'method',
    '_unique_id',
    '_context_user',
    '_context_nested',
    '_context_n',
  ]);
  assert.deepEqual(msg['_context_nested'], { a: [1] });
  assert.equal(msg['_context_n'], null);
  assert.deepEqual(packContext({ a: 1 }, null), { a: 1 });
});

test('unpackContext - restores the context and removes every underscore key', () => {
  const msg = {
    method: 'm',
    args: { _context_not_top_level: 1 },
    _msg_id: 'id',
    _reply_q: 'q',
    _timeout: 30,
    _unique_id: 'uid',
    _context_user_id: 'u-1',
    _context_roles: ['admin'],
    _context_: 'empty key',
  };
  const copy = structuredClone(msg);
  const unpacked = unpackContext(msg);
  assert.deepEqual(unpacked.message, { method: 'm', args: { _context_not_top_level: 1 } });
  assert.deepEqual(unpacked.ctxt, {
    user_id: 'u-1',
    roles: ['admin'],
    '': 'empty key',
    client_timeout: 30,
  });
  assert.equal(unpacked.msgId, 'id');
  assert.equal(unpacked.replyQ, 'q');
  assert.equal(unpacked.clientTimeout, 30);
  assert.equal(unpacked.uniqueId, 'uid');
  assert.deepEqual(msg, copy, 'the input is not modified');
});

test('unpackContext - client_timeout is null for casts and notifications, and overwrites a sent key', () => {
  const unpacked = unpackContext({
    method: 'm',
    _context_client_timeout: 99,
    _context_msg_id: 'sent',
    _context_reply_q: 'sent',
    _context_x: 1,
  });
  // As oslo: msg_id and reply_q are taken out of the context, client_timeout replaced.
  assert.deepEqual(unpacked.ctxt, { x: 1, client_timeout: null });
  assert.equal(unpacked.msgId, undefined);
  assert.equal(unpacked.replyQ, undefined);
  assert.equal(unpacked.uniqueId, undefined);
});

test('unpackContext - a __proto__ context key stays data', () => {
  const msg = JSON.parse('{"_context___proto__": {"admin": true}, "__proto__": 1}') as Record<
    string,
    unknown
  >;
  const { ctxt, message } = unpackContext(msg);
  assert.equal(Object.getPrototypeOf(ctxt), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(ctxt, '__proto__')?.value, { admin: true });
  assert.equal((ctxt as { admin?: unknown }).admin, undefined);
  assert.equal(Object.getOwnPropertyDescriptor(message, '__proto__')?.value, 1);
});

for (const key of ['_msg_id', '_reply_q', '_unique_id']) {
  test(`unpackContext - refuses a non-string ${key} with MalformedMessage`, () => {
    assert.throws(() => unpackContext({ [key]: 42 }), MalformedMessage);
  });
}

test('buildRpcRequest - refuses a call without a reply queue', () => {
  assert.throws(() => buildRpcRequest({ method: 'm', args: {} }, { msgId: hex32() }), TypeError);
});

test('buildRpcRequest - omits a null namespace and version, defaults _timeout and _unique_id', () => {
  const msg = buildRpcRequest(
    { method: 'm', args: {}, namespace: null, version: null },
    { msgId: 'i', replyQ: 'q' },
  );
  assert.deepEqual(Object.keys(msg), [
    'method',
    'args',
    '_msg_id',
    '_reply_q',
    '_timeout',
    '_unique_id',
  ]);
  assert.equal(msg['_timeout'], null);
  assert.match(msg['_unique_id'] as string, /^[0-9a-f]{32}$/);
});

test('buildRpcReply - sends undefined results as null and ending true by default', () => {
  const reply = buildRpcReply({ result: undefined, msgId: 'i' });
  assert.deepEqual(Object.keys(reply), ['result', 'failure', 'ending', '_msg_id', '_unique_id']);
  assert.equal(reply['result'], null);
  assert.equal(reply['failure'], null);
  assert.equal(reply['ending'], true);
  assert.notEqual(buildRpcReply({ msgId: 'i' })['_unique_id'], reply['_unique_id']);
});

test('buildNotification - defaults ids and timestamp and formats a Date timestamp', () => {
  const msg = buildNotification({
    publisherId: 'p',
    eventType: 'e',
    priority: 'WARN',
    payload: undefined,
  });
  assert.deepEqual(Object.keys(msg), [
    'message_id',
    'publisher_id',
    'event_type',
    'priority',
    'payload',
    'timestamp',
    '_unique_id',
  ]);
  assert.match(
    msg['message_id'] as string,
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.match(msg['_unique_id'] as string, /^[0-9a-f]{32}$/);
  assert.match(msg['timestamp'] as string, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
  assert.equal(msg['payload'], null);
  const dated = buildNotification({
    publisherId: 'p',
    eventType: 'e',
    priority: 'INFO',
    payload: {},
    timestamp: new Date(Date.UTC(2026, 10, 29, 5, 4, 52, 838)),
  });
  assert.equal(dated['timestamp'], '2026-11-29 05:04:52.838000');
});

test('encodeEnvelope - converts Dates and other non-JSON values as jsonutils.dumps does', () => {
  const body = encodeEnvelope({
    when: new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123)),
    ids: new Set([1]),
  });
  assert.equal(
    body,
    String.raw`{"oslo.version": "2.0", "oslo.message": "{\"when\": \"2024-05-06T07:08:09.123000\", \"ids\": [1]}"}`,
  );
  assert.throws(() => encodeEnvelope({ f: () => 1 }), TypeError);
});

test('hex32 and uuid36 - are fresh uuid4 values in the two oslo forms', () => {
  // Across several refills of the pool of random bytes (256 ids each).
  const ids = new Set(Array.from({ length: 1000 }, () => hex32()));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
  assert.match(uuid36(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

const timestamps: [string, Date, string][] = [
  [
    'microseconds from milliseconds',
    new Date(Date.UTC(2026, 10, 29, 5, 4, 52, 838)),
    '2026-11-29 05:04:52.838000',
  ],
  [
    'no fraction at all on a whole second',
    new Date(Date.UTC(2024, 4, 6, 7, 8, 9)),
    '2024-05-06 07:08:09',
  ],
  ['one millisecond', new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 1)), '2024-01-01 00:00:00.001000'],
  [
    'UTC whatever the zone of the input',
    new Date('2024-05-06T09:08:09.5+02:00'),
    '2024-05-06 07:08:09.500000',
  ],
];

for (const [name, date, expected] of timestamps) {
  test(`formatNotificationTimestamp - writes Python str(datetime): ${name}`, () => {
    assert.equal(formatNotificationTimestamp(date), expected);
  });
}

test('formatNotificationTimestamp - refuses an invalid Date', () => {
  assert.throws(() => formatNotificationTimestamp(new Date('nope')), TypeError);
});

const parsed: [string, number | undefined][] = [
  ['2026-11-29 05:04:52.838860', Date.UTC(2026, 10, 29, 5, 4, 52, 838)],
  ['2024-05-06 07:08:09', Date.UTC(2024, 4, 6, 7, 8, 9)],
  ['2024-05-06T07:08:09.5', Date.UTC(2024, 4, 6, 7, 8, 9, 500)],
  ['0099-01-01 00:00:00', new Date('0099-01-01T00:00:00Z').getTime()],
  ['2024-02-30 00:00:00', undefined],
  ['2024-13-01 00:00:00', undefined],
  ['2024-05-06 24:00:00', undefined],
  ['2024-05-06 07:08:09.1234567', undefined],
  ['2024-05-06 07:08:09Z', undefined],
  ['2024-05-06', undefined],
  ['', undefined],
];

for (const [text, expected] of parsed) {
  test(`parseNotificationTimestamp - reads ${JSON.stringify(text)} as ${expected === undefined ? 'invalid' : 'UTC'}`, () => {
    const date = parseNotificationTimestamp(text);
    if (expected === undefined) {
      assert.equal(date, undefined);
    } else {
      assert.ok(date instanceof Date);
      assert.equal(date.getTime(), expected);
    }
  });
}

test('parseNotificationTimestamp - reads what formatNotificationTimestamp writes', () => {
  for (const ms of [0, 1, 999]) {
    const date = new Date(Date.UTC(2025, 6, 4, 12, 30, 45, ms));
    assert.equal(
      parseNotificationTimestamp(formatNotificationTimestamp(date))?.getTime(),
      date.getTime(),
    );
  }
});

test('encodeNotification - wraps version 2 in the envelope and sends version 1 bare', () => {
  const message = {
    message_id: 'bb69211e-633d-4530-820f-3d3b315fd53b',
    publisher_id: 'owire.host1',
    event_type: 'owire.instance.create.end',
    priority: 'INFO',
    payload: { name: 'caf\u00e9' },
    timestamp: '2026-11-29 05:04:52.838860',
  };
  const v2 = encodeNotification(message, { user_id: 'u-1' }, 2);
  const v1 = encodeNotification(message, { user_id: 'u-1' }, 1);
  assert.ok(v2.startsWith('{"oslo.version": "2.0", "oslo.message": "{'), v2);
  assert.ok(v1.startsWith('{"message_id": "bb69211e-'), v1);
  for (const body of [v1, v2]) {
    const { ctxt, message: decoded } = unpackContext(decodeMessage(body));
    assert.deepEqual(decoded, message);
    assert.deepEqual(ctxt, { user_id: 'u-1', client_timeout: null });
  }
});
