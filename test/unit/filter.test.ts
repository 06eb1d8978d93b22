import assert from 'node:assert/strict';
import { test } from 'node:test';

import { NotificationFilter, type NotificationFilterOptions } from '../../src/notify/filter.js';
import { PatternError, UnsupportedPattern } from '../../src/errors.js';

// The notification oslo's TestDispatcherFilter matches against.
const PAYLOAD = { state: 'active', virtual_size: null };
const METADATA = {
  message_id: '99863dda-97f0-443a-a0c1-6ed317b7fd45',
  timestamp: '2014-03-03 18:21:04.369234',
};

interface Case {
  name: string;
  filter: NotificationFilterOptions;
  publisherId?: unknown;
  eventType?: unknown;
  context?: unknown;
  payload?: unknown;
  match: boolean;
}

const cases: Case[] = [
  // oslo's own scenarios (test_dispatcher.py, TestDispatcherFilter).
  { name: 'publisher_id matches', filter: { publisherId: '^compute.*' }, match: true },
  {
    name: 'publisher_id does not match',
    filter: { publisherId: '^compute.*' },
    publisherId: 'network01.manager',
    match: false,
  },
  { name: 'event_type matches', filter: { eventType: '^instance\\.create' }, match: true },
  {
    name: 'event_type does not match',
    filter: { eventType: '^instance\\.delete' },
    match: false,
  },
  {
    name: 'event_type that is not a string never matches',
    filter: { eventType: '^instance\\.delete' },
    eventType: ['instance.swim', 'instance.fly'],
    match: false,
  },
  {
    name: 'context key matches',
    filter: { context: { user: '^adm' } },
    context: { user: 'admin' },
    match: true,
  },
  {
    name: 'missing context key does not match',
    filter: { context: { user: '^adm' } },
    context: { project: 'admin' },
    match: false,
  },
  { name: 'metadata key matches', filter: { metadata: { message_id: '^99' } }, match: true },
  {
    name: 'missing metadata key does not match',
    filter: { metadata: { user: '^adm' } },
    match: false,
  },
  { name: 'payload key matches', filter: { payload: { state: '^active$' } }, match: true },
  { name: 'payload key does not match', filter: { payload: { state: '^deleted$' } }, match: false },
  {
    name: 'missing payload key does not match',
    filter: { payload: { user: '^adm' } },
    match: false,
  },
  {
    name: 'null payload value does not match',
    filter: { payload: { virtual_size: '2048' } },
    match: false,
  },
  {
    name: 'every criterion matches',
    filter: { eventType: '^instance\\.create', publisherId: '^compute', context: { user: '^adm' } },
    context: { user: 'admin' },
    match: true,
  },
  // re.match semantics: anchored at the start, not at the end.
  { name: 'a pattern is anchored at the start', filter: { eventType: 'create' }, match: false },
  { name: 'a pattern is not anchored at the end', filter: { eventType: 'instance' }, match: true },
  { name: 'an empty filter matches everything', filter: {}, match: true },
  {
    name: 'one failing criterion among matching ones fails the whole filter (AND)',
    filter: { publisherId: '^compute', eventType: '^instance', payload: { state: '^deleted' } },
    match: false,
  },
  // Non-string values never match.
  {
    name: 'a number value does not match',
    filter: { payload: { id: '1' } },
    payload: { id: 1 },
    match: false,
  },
  {
    name: 'a boolean value does not match',
    filter: { context: { is_admin: 'true|True' } },
    context: { is_admin: true },
    match: false,
  },
  {
    name: 'a list value does not match',
    filter: { context: { roles: 'admin' } },
    context: { roles: ['admin'] },
    match: false,
  },
  {
    name: 'an object value does not match',
    filter: { payload: { nested: '.*' } },
    payload: { nested: { a: 'b' } },
    match: false,
  },
  {
    name: 'a payload that is not an object does not match payload criteria',
    filter: { payload: { state: '.*' } },
    payload: 'state',
    match: false,
  },
  // Top-level keys only, as upstream: a dotted key is a literal key name.
  {
    name: 'a dotted key is not a nested path',
    filter: { payload: { 'instance.state': '^active' } },
    payload: { instance: { state: 'active' } },
    match: false,
  },
  {
    name: 'a dotted key names a key with a dot',
    filter: { payload: { 'instance.state': '^active' } },
    payload: { 'instance.state': 'active' },
    match: true,
  },
  {
    name: 'keys inherited from Object.prototype are not values',
    filter: { context: { toString: '.*' } },
    context: {},
    match: false,
  },
  // Python syntax and semantics.
  {
    name: "Python's $ also matches before a final newline",
    filter: { payload: { state: '^active$' } },
    payload: { state: 'active\n' },
    match: true,
  },
  {
    name: '\\Z matches only at the very end',
    filter: { payload: { state: '\\Aactive\\Z' } },
    payload: { state: 'active\n' },
    match: false,
  },
  {
    name: 'named groups and back-references in Python syntax',
    filter: { publisherId: '(?P<svc>[a-z]+)01\\.(?P=svc)' },
    publisherId: 'compute01.compute',
    match: true,
  },
  { name: 'a leading (?i) flag ignores case', filter: { publisherId: '(?i)COMPUTE' }, match: true },
  {
    name: 'a ] first in a character class is a literal',
    filter: { payload: { state: '[]a]+$' } },
    payload: { state: ']a]' },
    match: true,
  },
  { name: 'a RegExp is anchored at the start too', filter: { eventType: /create/ }, match: false },
  { name: 'a RegExp keeps its flags', filter: { publisherId: /COMPUTE\d+/i }, match: true },
];

for (const c of cases) {
  test(`NotificationFilter - ${c.name}`, () => {
    const filter = new NotificationFilter(c.filter);
    const args = [
      'context' in c ? c.context : {},
      'publisherId' in c ? c.publisherId : 'compute01.manager',
      'eventType' in c ? c.eventType : 'instance.create.start',
      METADATA,
      'payload' in c ? c.payload : PAYLOAD,
    ] as const;
    assert.equal(filter.match(...args), c.match);
    // Matching keeps no state between calls (RegExp lastIndex).
    assert.equal(filter.match(...args), c.match);
  });
}

test('NotificationFilter - a global RegExp gives the same answer on every call', () => {
  const filter = new NotificationFilter({ eventType: /instance/g });
  for (let i = 0; i < 3; i++) {
    assert.equal(filter.match({}, 'p', 'instance.create', METADATA, {}), true);
  }
});

const invalid: [string, NotificationFilterOptions, new (...args: never[]) => Error][] = [
  ['an unbalanced parenthesis', { eventType: '(' }, PatternError],
  ['a conditional group (no exact translation)', { eventType: '(a)?(?(1)b)' }, UnsupportedPattern],
  ['a bad pattern in a key', { payload: { state: '[' } }, PatternError],
  ['a number instead of a pattern', { publisherId: 7 as unknown as string }, TypeError],
  [
    'a list instead of patterns by key',
    { context: ['a'] as unknown as Record<string, string> },
    TypeError,
  ],
];
for (const [what, options, error] of invalid) {
  test(`NotificationFilter - refuses ${what} at construction`, () => {
    assert.throws(() => new NotificationFilter(options), error);
  });
}

test('NotificationFilter - the error names the field, and carries the pattern and Python reason', () => {
  assert.throws(() => new NotificationFilter({ payload: { state: '(' } }), {
    name: 'PatternError',
    message: 'NotificationFilter payload.state: missing ), unterminated subpattern at position 0',
    pattern: '(',
    pos: 0,
  });
});

test('NotificationFilter - patterns mean what they mean in Python', () => {
  const filter = new NotificationFilter({
    eventType: '(?i)compute\\.\\w+\\b',
    payload: { name: '\\w+$', size: 'x{,2}$' },
  });
  // \w is Unicode, (?i) folds, $ also matches before a final newline, {,n} is a quantifier.
  assert.equal(
    filter.match({}, 'p', 'Compute.caf\u00e9.x', METADATA, { name: 'caf\u00e9\n', size: 'xx' }),
    true,
  );
  assert.equal(
    filter.match({}, 'p', 'compute.x', METADATA, { name: 'caf\u00e9', size: 'xxx' }),
    false,
  );
});
