/**
 * What the package ships: source maps come with the sources they point to.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function json(path: string): Record<string, unknown> {
  return JSON.parse(
    readFileSync(new URL(path, new URL('../../', import.meta.url)), 'utf8'),
  ) as Record<string, unknown>;
}

test('package - source maps ship with the sources they point to', () => {
  const base = json('tsconfig.json')['compilerOptions'] as Record<string, unknown>;
  const build = json('tsconfig.build.json')['compilerOptions'] as Record<string, unknown>;
  const maps =
    (build['sourceMap'] ?? base['sourceMap']) === true ||
    (build['declarationMap'] ?? base['declarationMap']) === true;
  const files = json('package.json')['files'] as string[];
  const rootDir = String(build['rootDir'] ?? base['rootDir']);
  if (maps) {
    assert.ok(
      files.includes(rootDir),
      `maps point into ${rootDir}/, which package.json "files" must ship (${ROOT})`,
    );
  }
});

test('package - metadata an npm user sees', () => {
  const pkg = json('package.json');
  for (const field of [
    'name',
    'version',
    'description',
    'license',
    'engines',
    'bin',
    'exports',
    'keywords',
  ]) {
    assert.ok(pkg[field] !== undefined, `package.json has no ${field}`);
  }
});
