/**
 * Body compression as kombu does it (`kombu_compression`, spec §1.3, §3.1 and §7), without a
 * broker: the header value, kombu's names and aliases, what a Python peer can read back, and
 * the bounds on what a received body may expand to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateSync, gzipSync, inflateSync } from 'node:zlib';

import { compressionFor, decompress } from '../../src/drivers/rabbit/compression.js';
import { ConfigurationError, MalformedMessage } from '../../src/errors.js';

const BODY = Buffer.from(
  JSON.stringify({
    'oslo.version': '2.0',
    'oslo.message': JSON.stringify({ method: 'echo', args: { text: 'caf\u00e9 '.repeat(200) } }),
  }),
);

// [kombu_compression, the `compression` header sent]
const METHODS: [string, string][] = [
  ['gzip', 'application/x-gzip'],
  ['GZIP', 'application/x-gzip'],
  ['zlib', 'application/x-gzip'],
  ['application/x-gzip', 'application/x-gzip'],
  ['brotli', 'application/x-brotli'],
  ['application/x-brotli', 'application/x-brotli'],
];

for (const [name, header] of METHODS) {
  void test(`rabbit compression - kombu_compression=${name} sends "compression: ${header}" and reads back`, () => {
    const method = compressionFor(name);
    assert.ok(method !== undefined);
    assert.equal(method.contentType, header);
    const compressed = method.compress(BODY);
    assert.ok(compressed.length < BODY.length, 'the body got smaller');
    assert.deepEqual(decompress(compressed, header, 1 << 20), BODY);
  });
}

void test('rabbit compression - unset or empty kombu_compression sends bodies plain', () => {
  assert.equal(compressionFor(undefined), undefined);
  assert.equal(compressionFor(''), undefined);
});

void test('rabbit compression - gzip is kombu’s: a zlib stream (78 9c, level 6) that Python’s zlib.decompress reads', () => {
  const compressed = compressionFor('gzip')!.compress(BODY);
  assert.deepEqual([...compressed.subarray(0, 2)], [0x78, 0x9c]);
  // zlib.decompress in Python is inflate with a zlib header, as here.
  assert.deepEqual(inflateSync(compressed), BODY);
  assert.deepEqual(compressed, deflateSync(BODY, { level: 6 }));
});

for (const name of ['bz2', 'application/x-bz2', 'lzma', 'zstd', 'snappy']) {
  void test(`rabbit compression - kombu_compression=${name} is refused with a ConfigurationError naming the option`, () => {
    assert.throws(
      () => compressionFor(name),
      (err: unknown) =>
        err instanceof ConfigurationError &&
        err.option === 'oslo_messaging_rabbit.kombu_compression' &&
        err.value === name &&
        err.message.startsWith(`kombu_compression=${name} is not supported`),
    );
  });
}

void test('rabbit compression - a received application/x-gzip body may also be a real gzip stream (1f 8b)', () => {
  const gzip = gzipSync(BODY);
  assert.deepEqual([...gzip.subarray(0, 2)], [0x1f, 0x8b]);
  assert.deepEqual(decompress(gzip, 'application/x-gzip', 1 << 20), BODY);
});

// [what, body, header, limit, message]
const REJECTED: [string, Buffer, string, number, RegExp][] = [
  [
    'an unknown method',
    Buffer.from('x'),
    'application/x-bz2',
    1 << 20,
    /^unsupported compression "application\/x-bz2"$/,
  ],
  [
    'a corrupt zlib stream',
    Buffer.from([0x78, 0x9c, 1, 2, 3, 4]),
    'application/x-gzip',
    1 << 20,
    /^cannot decompress application\/x-gzip body: /,
  ],
  [
    'a body that is not compressed at all',
    BODY,
    'application/x-gzip',
    1 << 20,
    /^cannot decompress application\/x-gzip body: /,
  ],
  [
    'a zlib body over the limit',
    deflateSync(Buffer.alloc(100_000)),
    'application/x-gzip',
    1000,
    /^decompressed body exceeds 1000 bytes$/,
  ],
  [
    'a gzip body over the limit',
    gzipSync(Buffer.alloc(100_000)),
    'application/x-gzip',
    1000,
    /^decompressed body exceeds 1000 bytes$/,
  ],
  [
    'a brotli body over the limit',
    brotliCompressSync(Buffer.alloc(100_000)),
    'application/x-brotli',
    1000,
    /^decompressed body exceeds 1000 bytes$/,
  ],
];

for (const [what, body, header, limit, message] of REJECTED) {
  void test(`rabbit compression - ${what} is a MalformedMessage`, () => {
    assert.throws(
      () => decompress(body, header, limit),
      (err: unknown) => err instanceof MalformedMessage && message.test(err.message),
    );
  });
}

void test('rabbit compression - a body exactly at the limit is accepted', () => {
  const raw = Buffer.alloc(1000, 0x61);
  assert.deepEqual(decompress(deflateSync(raw), 'application/x-gzip', 1000), raw);
});
