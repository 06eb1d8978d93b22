import { test } from 'node:test';
import assert from 'node:assert/strict';

import { InvalidTransportURL } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { TransportURL, type EffectiveHost, type TransportHost } from '../../src/transport-url.js';

const parse = (url: string): TransportURL => TransportURL.parse(url, { logger: silentLogger });

interface Capture {
  input: string;
  transport: string;
  virtualHost: string | undefined;
  hosts: TransportHost[];
  query: Record<string, string>;
  /** `str(url)` in Python: our toUnmaskedString(). */
  str: string;
  /** What the rabbit driver connects to (the capture's kombu URLs). */
  effective: EffectiveHost[];
  effectiveVirtualHost: string;
}

const guest = (hostname: string, port = 5672): EffectiveHost => ({
  hostname,
  port,
  username: 'guest',
  password: 'guest',
});

// Every line of spec/captures/url-parse.jsonl (oslo.messaging 14.0.3, Python), which also
// covers every row of the table in spec §1.1.
const CAPTURES: Capture[] = [
  {
    input: 'rabbit://',
    transport: 'rabbit',
    virtualHost: undefined,
    hosts: [],
    query: {},
    str: 'rabbit:///',
    effective: [guest('localhost')],
    effectiveVirtualHost: '/',
  },
  {
    input: 'rabbit://guest:guest@127.0.0.1:5672/',
    transport: 'rabbit',
    virtualHost: '',
    hosts: [{ hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' }],
    query: {},
    str: 'rabbit://guest:guest@127.0.0.1:5672/',
    effective: [guest('127.0.0.1')],
    effectiveVirtualHost: '/',
  },
  {
    input: 'rabbit://guest:guest@127.0.0.1:5672//',
    transport: 'rabbit',
    virtualHost: '/',
    hosts: [{ hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' }],
    query: {},
    str: 'rabbit://guest:guest@127.0.0.1:5672//',
    effective: [guest('127.0.0.1')],
    effectiveVirtualHost: '/',
  },
  {
    input: 'rabbit://guest:guest@127.0.0.1:5672/%2F',
    transport: 'rabbit',
    virtualHost: '/',
    hosts: [{ hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' }],
    query: {},
    str: 'rabbit://guest:guest@127.0.0.1:5672//',
    effective: [guest('127.0.0.1')],
    effectiveVirtualHost: '/',
  },
  {
    input: 'rabbit://user:p%40ss%3Aw0rd@host1:5672,user:pw2@host2:5673/nova',
    transport: 'rabbit',
    virtualHost: 'nova',
    hosts: [
      { hostname: 'host1', port: 5672, username: 'user', password: 'p@ss:w0rd' },
      { hostname: 'host2', port: 5673, username: 'user', password: 'pw2' },
    ],
    query: {},
    str: 'rabbit://user:p%40ss%3Aw0rd@host1:5672,user:pw2@host2:5673/nova',
    effective: [
      { hostname: 'host1', port: 5672, username: 'user', password: 'p@ss:w0rd' },
      { hostname: 'host2', port: 5673, username: 'user', password: 'pw2' },
    ],
    effectiveVirtualHost: 'nova',
  },
  {
    input:
      'rabbit://u:p@host1,host2:5673/vh?heartbeat_timeout_threshold=30&ssl=true&amqp_durable_queues=true',
    transport: 'rabbit',
    virtualHost: 'vh',
    hosts: [
      { hostname: 'host1', username: 'u', password: 'p' },
      { hostname: 'host2', port: 5673 },
    ],
    query: { heartbeat_timeout_threshold: '30', ssl: 'true', amqp_durable_queues: 'true' },
    str: 'rabbit://u:p@host1,host2:5673/vh?heartbeat_timeout_threshold=30&ssl=true&amqp_durable_queues=true',
    effective: [
      { hostname: 'host1', port: 5672, username: 'u', password: 'p' },
      { hostname: 'host2', port: 5673, username: undefined, password: undefined },
    ],
    effectiveVirtualHost: 'vh',
  },
  {
    input: 'rabbit://u:p@[::1]:5672,u:p@[fe80::1]/vh',
    transport: 'rabbit',
    virtualHost: 'vh',
    hosts: [
      { hostname: '::1', port: 5672, username: 'u', password: 'p' },
      { hostname: 'fe80::1', username: 'u', password: 'p' },
    ],
    query: {},
    str: 'rabbit://u:p@[::1]:5672,u:p@[fe80::1]/vh',
    effective: [
      { hostname: '::1', port: 5672, username: 'u', password: 'p' },
      { hostname: 'fe80::1', port: 5672, username: 'u', password: 'p' },
    ],
    effectiveVirtualHost: 'vh',
  },
  {
    input: 'kombu://u:p@h:5672/x',
    transport: 'kombu',
    virtualHost: 'x',
    hosts: [{ hostname: 'h', port: 5672, username: 'u', password: 'p' }],
    query: {},
    str: 'kombu://u:p@h:5672/x',
    effective: [{ hostname: 'h', port: 5672, username: 'u', password: 'p' }],
    effectiveVirtualHost: 'x',
  },
  {
    input: 'fake://',
    transport: 'fake',
    virtualHost: undefined,
    hosts: [],
    query: {},
    str: 'fake:///',
    effective: [guest('localhost')],
    effectiveVirtualHost: '/',
  },
  {
    input: 'rabbit://u:p@h/?a=1&a=2',
    transport: 'rabbit',
    virtualHost: '',
    hosts: [{ hostname: 'h', username: 'u', password: 'p' }],
    query: { a: '1,2' },
    str: 'rabbit://u:p@h/?a=1%2C2',
    effective: [{ hostname: 'h', port: 5672, username: 'u', password: 'p' }],
    effectiveVirtualHost: '/',
  },
];

for (const c of CAPTURES) {
  void test(`TransportURL.parse - reads ${c.input} as oslo.messaging 14.0.3 does`, () => {
    const url = parse(c.input);
    assert.equal(url.transport, c.transport);
    assert.equal(url.driverName, c.transport);
    assert.equal(url.transportSuffix, undefined);
    assert.equal(url.virtualHost, c.virtualHost);
    assert.deepEqual(url.hosts, c.hosts);
    assert.deepEqual(url.query, c.query);
    assert.equal(url.toUnmaskedString(), c.str);
    assert.deepEqual(url.effectiveHosts(), c.effective);
    assert.equal(url.effectiveVirtualHost(), c.effectiveVirtualHost);
  });
}

const RULES: Array<{ rule: string; input: string; expect: Partial<TransportURL> }> = [
  {
    rule: 'splits credentials at the last @ and percent-decodes them',
    input: 'rabbit://us%40er:p@ss@h/',
    expect: { hosts: [{ hostname: 'h', username: 'us@er', password: 'p@ss' }] },
  },
  {
    rule: 'splits user and password at the first :',
    input: 'rabbit://u:p:w%3A@h/',
    expect: { hosts: [{ hostname: 'h', username: 'u', password: 'p:w:' }] },
  },
  {
    rule: 'keeps a user name without a password',
    input: 'rabbit://u@h/',
    expect: { hosts: [{ hostname: 'h', username: 'u' }] },
  },
  {
    rule: 'reads "@host" as an empty user name, as Python does',
    input: 'rabbit://@h/',
    expect: { hosts: [{ hostname: 'h', username: '' }] },
  },
  {
    rule: 'decodes percent-encoded UTF-8 and leaves malformed escapes alone',
    input: 'rabbit://u:%C3%A9t%C3%A9%zz@h/',
    expect: { hosts: [{ hostname: 'h', username: 'u', password: 'été%zz' }] },
  },
  {
    rule: 'reads an empty port as no port',
    input: 'rabbit://h:/',
    expect: { hosts: [{ hostname: 'h' }] },
  },
  {
    rule: 'lower-cases the scheme and keeps a +suffix apart',
    input: 'KOMBU+Memory:///',
    expect: { transport: 'kombu', transportSuffix: 'memory', driverName: 'kombu', hosts: [] },
  },
  {
    rule: 'percent-decodes the virtual host, slashes included',
    input: 'rabbit://h/a%2Fb/c%20d',
    expect: { virtualHost: 'a/b/c d' },
  },
  {
    rule: 'parses the query like parse_qs: + is a space, blank values and bare keys are dropped',
    input: 'rabbit://h/?a=&b=1&c&d=x+y&e%5F=%2B',
    expect: { query: { b: '1', d: 'x y', e_: '+' } },
  },
  {
    rule: 'trims surrounding whitespace',
    input: '  rabbit://h/vh \n',
    expect: { virtualHost: 'vh', hosts: [{ hostname: 'h' }] },
  },
  {
    rule: 'accepts an IPv6 literal with a zone and no port',
    input: 'rabbit://[fe80::1%eth0]/',
    expect: { hosts: [{ hostname: 'fe80::1%eth0' }] },
  },
];

for (const { rule, input, expect } of RULES) {
  void test(`TransportURL.parse - ${rule}`, () => {
    const url = parse(input);
    for (const [key, value] of Object.entries(expect)) {
      assert.deepEqual((url as unknown as Record<string, unknown>)[key], value, key);
    }
  });
}

const ERRORS: Array<{ what: string; input: string; reason: RegExp }> = [
  { what: 'no scheme', input: 'localhost', reason: /No scheme specified/ },
  { what: 'no scheme, host:port', input: 'localhost:5672', reason: /expected "\/\/"/ },
  {
    what: 'no // after the scheme',
    input: 'rabbit:/vh',
    reason: /expected "\/\/" after "rabbit:"/,
  },
  { what: 'an empty URL', input: '', reason: /No scheme specified/ },
  { what: 'a non-numeric port', input: 'rabbit://h:abc/', reason: /invalid port "abc"/ },
  { what: 'port 0', input: 'rabbit://h:0/', reason: /from 1 to 65535/ },
  { what: 'port 65536', input: 'rabbit://h:65536/', reason: /invalid port "65536"/ },
  { what: 'a signed port', input: 'rabbit://h:+5/', reason: /invalid port "\+5"/ },
  { what: 'an empty host in the list', input: 'rabbit://h1,,h2/', reason: /empty entry/ },
  { what: 'a trailing comma in the host list', input: 'rabbit://h1,/', reason: /empty entry/ },
  { what: 'credentials without a host', input: 'rabbit://u:p@/', reason: /missing host name/ },
  { what: 'a port without a host', input: 'rabbit://:5672/', reason: /missing host name/ },
  { what: 'an unterminated [', input: 'rabbit://[::1:5672/', reason: /unterminated "\["/ },
  { what: 'text after an IPv6 literal', input: 'rabbit://[::1]x/', reason: /unexpected "x"/ },
  { what: 'a bad IPv6 literal', input: 'rabbit://[nope]/', reason: /not an IPv6 address/ },
  { what: 'IPv6 without brackets', input: 'rabbit://::1/', reason: /enclosed in \[/ },
  { what: 'a stray ] in a host', input: 'rabbit://h]/', reason: /invalid host name/ },
  { what: 'a fragment', input: 'rabbit://h/vh#x', reason: /%23/ },
  { what: 'a control character', input: 'rabbit://h/v\th', reason: /control character/ },
];

for (const { what, input, reason } of ERRORS) {
  void test(`TransportURL.parse - rejects ${what} with InvalidTransportURL`, () => {
    assert.throws(
      () => parse(input),
      (err: unknown) => {
        assert.ok(err instanceof InvalidTransportURL);
        assert.match(err.message, reason);
        assert.match(err.message, /^Invalid transport URL: /);
        return true;
      },
    );
  });
}

void test('TransportURL.parse - rejects a value that is not a string', () => {
  assert.throws(() => TransportURL.parse(42 as unknown as string), InvalidTransportURL);
});

void test('TransportURL.parse - never puts a password in its error', () => {
  const cases = [
    'rabbit://u:hunter2@h:99999/',
    'rabbit://u:hun/ter2@h/', // unencoded '/' ends the host list inside the password
    'rabbit://u:hun#ter2@h/',
    'rabbit://u:hunter2@h1,,u:hunter2@h2/',
    'rabbit://u:hunter2@[::1/',
  ];
  for (const input of cases) {
    assert.throws(
      () => parse(input),
      (err: unknown) => {
        assert.ok(err instanceof InvalidTransportURL);
        assert.doesNotMatch(err.message, /hunter2|hun\b|ter2/, input);
        assert.doesNotMatch(err.url, /hunter2/);
        assert.match(err.url, /:\*\*\*@/);
        return true;
      },
    );
  }
});

void test('TransportURL.toString - masks passwords; toUnmaskedString keeps them', () => {
  const url = parse('rabbit://user:p%40ss%3Aw0rd@host1:5672,user:pw2@host2:5673/nova');
  assert.equal(url.toString(), 'rabbit://user:***@host1:5672,user:***@host2:5673/nova');
  assert.equal(String(url), url.toString());
  assert.equal(
    JSON.stringify({ url }),
    '{"url":"rabbit://user:***@host1:5672,user:***@host2:5673/nova"}',
  );
  assert.equal(
    url.toUnmaskedString(),
    'rabbit://user:p%40ss%3Aw0rd@host1:5672,user:pw2@host2:5673/nova',
  );
});

void test('TransportURL.toUnmaskedString - quotes like Python (only letters, digits and _.-~ bare)', () => {
  const url = new TransportURL({
    transport: 'kombu',
    transportSuffix: 'memory',
    hosts: [{ hostname: 'fe80::1', port: 5671, username: "a b!*'()", password: '/?#@:%~_.-' }],
    virtualHost: 'my vhost/x',
    query: { 'k k': 'v+v,w' },
  });
  assert.equal(
    url.toUnmaskedString(),
    'kombu+memory://a%20b%21%2A%27%28%29:%2F%3F%23%40%3A%25~_.-@[fe80::1]:5671/my%20vhost/x?k+k=v%2Bv%2Cw',
  );
  const again = parse(url.toUnmaskedString());
  assert.deepEqual(again.hosts, url.hosts);
  assert.equal(again.virtualHost, url.virtualHost);
  assert.deepEqual(again.query, url.query);
  assert.ok(again.equals(url));
});

void test('TransportURL.effectiveVirtualHost - "", "/" and no path all mean vhost "/"', () => {
  const table: Array<[string, string]> = [
    ['rabbit://h', '/'],
    ['rabbit://h/', '/'],
    ['rabbit://h//', '/'],
    ['rabbit://h/%2F', '/'],
    ['rabbit://h/nova', 'nova'],
    ['rabbit://h/%2Fnova', '/nova'],
  ];
  for (const [input, vhost] of table)
    assert.equal(parse(input).effectiveVirtualHost(), vhost, input);
});

void test('TransportURL.effectiveHosts - does not copy credentials between hosts', () => {
  const url = parse('rabbit://u:p@h1,h2,x@h3/');
  assert.deepEqual(url.effectiveHosts(), [
    { hostname: 'h1', port: 5672, username: 'u', password: 'p' },
    { hostname: 'h2', port: 5672, username: undefined, password: undefined },
    { hostname: 'h3', port: 5672, username: 'x', password: undefined },
  ]);
});

void test('TransportURL.parse - warns when some hosts have credentials and others not', () => {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (message) => warnings.push(message) };
  TransportURL.parse('rabbit://u:p@h1,h2/', { logger });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /All hosts must be set with username\/password/);
  TransportURL.parse('rabbit://u:p@h1,v:q@h2/', { logger });
  TransportURL.parse('rabbit://h1,h2/', { logger });
  assert.equal(warnings.length, 1);
});

void test('TransportURL - is immutable', () => {
  const url = parse('rabbit://u:p@h/?a=1');
  assert.ok(Object.isFrozen(url));
  assert.ok(Object.isFrozen(url.hosts));
  assert.ok(Object.isFrozen(url.hosts[0]));
  assert.ok(Object.isFrozen(url.query));
  assert.throws(() => {
    (url as { virtualHost: string | undefined }).virtualHost = 'x';
  }, TypeError);
});

void test('TransportURL.equals - compares scheme, hosts and virtual host, not the query', () => {
  assert.ok(parse('rabbit://u:p@h:1/v?a=1').equals(parse('RABBIT://u:p@h:1/v?a=2')));
  assert.ok(!parse('rabbit://u:p@h:1/v').equals(parse('rabbit://u:q@h:1/v')));
  assert.ok(!parse('rabbit://h/').equals(parse('rabbit://h')));
  assert.ok(!parse('rabbit://h/').equals(parse('kombu://h/')));
  assert.ok(!parse('rabbit://h1,h2/').equals(parse('rabbit://h1/')));
});
