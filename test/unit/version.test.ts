import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InvalidRPCVersion } from '../../src/errors.js';
import { isCompatible, parseVersion, versionCapAllows } from '../../src/version.js';

test('parseVersion - reads X.Y with revision 0, and X.Y.Z', () => {
  assert.deepEqual(parseVersion('1.3'), { major: 1, minor: 3, revision: 0 });
  assert.deepEqual(parseVersion('2.10.4'), { major: 2, minor: 10, revision: 4 });
  assert.deepEqual(parseVersion('01.02'), { major: 1, minor: 2, revision: 0 });
});

for (const bad of [
  '1',
  '1.a',
  'a.1',
  '1.',
  '.1',
  '1.2.3.4',
  '',
  ' 1.2',
  '1.2 ',
  '-1.0',
  '1.0-rc1',
]) {
  test(`parseVersion - refuses ${JSON.stringify(bad)} with InvalidRPCVersion`, () => {
    assert.throws(() => parseVersion(bad), InvalidRPCVersion);
  });
}

test('parseVersion - refuses a non-string with InvalidRPCVersion', () => {
  assert.throws(() => parseVersion(1.2 as unknown as string), InvalidRPCVersion);
});

// [implemented, requested, compatible], oslo's version_is_compatible (spec §4.7).
const compatibility: [string | undefined, string, boolean][] = [
  ['1.0', '1.0', true],
  ['1.3', '1.2', true],
  ['1.3', '1.0', true],
  ['1.3', '1.3', true],
  ['1.3', '1.4', false],
  ['1.3', '2.0', false],
  ['2.0', '1.0', false],
  ['1.0', '1.1', false],
  ['1.3.2', '1.3.1', true],
  ['1.3.2', '1.3.2', true],
  ['1.3.1', '1.3.2', false],
  ['1.3', '1.3.0', true],
  ['1.3', '1.3.1', false],
  ['1.4', '1.3.9', true],
  ['1.3.5', '1.2.9', true],
  [undefined, '7.9', true],
];

for (const [implemented, requested, expected] of compatibility) {
  test(`isCompatible - ${String(implemented)} ${expected ? 'serves' : 'does not serve'} ${requested}`, () => {
    assert.equal(isCompatible(implemented, requested), expected);
  });
}

test('isCompatible - refuses malformed versions with InvalidRPCVersion', () => {
  assert.throws(() => isCompatible('1.0', '1'), InvalidRPCVersion);
  assert.throws(() => isCompatible('x', '1.0'), InvalidRPCVersion);
});

// [cap, version, allowed]
const caps: [string | undefined | null, string | undefined | null, boolean][] = [
  [undefined, undefined, true],
  [null, '9.9', true],
  ['1.5', '1.5', true],
  ['1.5', '1.2', true],
  ['1.5', '1.6', false],
  ['1.5', '2.0', false],
  ['1.5', undefined, false],
  ['1.5', null, false],
];

for (const [cap, version, expected] of caps) {
  test(`versionCapAllows - cap ${String(cap)} ${expected ? 'allows' : 'refuses'} version ${String(version)}`, () => {
    assert.equal(versionCapAllows(cap, version), expected);
  });
}
