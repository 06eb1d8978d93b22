import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InvalidTarget } from '../../src/errors.js';
import { Target } from '../../src/target.js';

test('Target - is frozen: fields cannot be assigned', () => {
  const target = new Target({ topic: 'compute' });
  assert.ok(Object.isFrozen(target));
  assert.throws(() => {
    (target as { topic: string | undefined }).topic = 'other';
  }, TypeError);
});

test('Target.with - copies, keeps omitted fields and clears fields set to null', () => {
  const base = new Target({ exchange: 'nova', topic: 'compute', version: '5.0', server: 'h1' });
  const changed = base.with({ server: 'h7', version: null });
  assert.deepEqual(changed.toJSON(), { exchange: 'nova', topic: 'compute', server: 'h7' });
  assert.deepEqual(base.toJSON(), {
    exchange: 'nova',
    topic: 'compute',
    version: '5.0',
    server: 'h1',
  });
  assert.notEqual(changed, base);
});

test('Target.equals - compares every field', () => {
  const a = new Target({ topic: 't', namespace: 'ns', legacyNamespaces: ['old'] });
  assert.ok(a.equals(new Target({ topic: 't', namespace: 'ns', legacyNamespaces: ['old'] })));
  assert.ok(!a.equals(new Target({ topic: 't', namespace: 'ns' })));
  assert.ok(!a.equals(a.with({ fanout: true })));
});

test('Target.toString - prints the set fields as oslo does', () => {
  assert.equal(
    String(new Target({ topic: 'compute', server: 'h7', fanout: false })),
    '<Target topic=compute, server=h7, fanout=false>',
  );
});

const invalid: [string, Record<string, unknown>][] = [
  ['an empty topic', { topic: '' }],
  ['a non-string server', { server: 7 }],
  ['an empty exchange', { exchange: '' }],
  ['a non-boolean fanout', { fanout: 'yes' }],
];
for (const [what, fields] of invalid) {
  test(`Target - refuses ${what} with InvalidTarget`, () => {
    assert.throws(() => new Target(fields), InvalidTarget);
  });
}
