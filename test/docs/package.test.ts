/**
 * What the package tells npm and ships: its metadata agrees with the tree and the docs,
 * and source maps come with the sources they point to.
 *
 * `repository`, `homepage` and `bugs` are not set: the project's public URL is not known
 * yet, and a guessed one would send users to the wrong place.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function json(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as Record<string, unknown>;
}

const pkg = json('package.json');

/** `./dist/rpc/client.js` -> `src/rpc/client.ts` (the build's rootDir is src/). */
function sourceOf(distPath: string): string {
  return distPath
    .replace(/^\.\/dist\//, 'src/')
    .replace(/\.d\.ts$/, '.ts')
    .replace(/\.js$/, '.ts');
}

/** Every `.ts` file under a folder, relative to ROOT. */
function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The code of a TypeScript file without its comments (examples import the package). */
function codeOf(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

test('package - source maps ship with the sources they point to (configuration)', () => {
  const base = json('tsconfig.json')['compilerOptions'] as Record<string, unknown>;
  const build = json('tsconfig.build.json')['compilerOptions'] as Record<string, unknown>;
  const maps =
    (build['sourceMap'] ?? base['sourceMap']) === true ||
    (build['declarationMap'] ?? base['declarationMap']) === true;
  const files = pkg['files'] as string[];
  const rootDir = String(build['rootDir'] ?? base['rootDir']);
  assert.equal(maps, true, 'the build writes source maps; this test checks what they need');
  assert.ok(files.includes(rootDir), `maps point into ${rootDir}/, which "files" must ship`);
  assert.ok(!files.includes('test'), 'tests are not shipped');
});

test(
  'package - every map under dist/ points to files under src/ that npm pack ships',
  {
    skip: existsSync(join(ROOT, 'dist/index.js'))
      ? false
      : 'no dist/ (npm run build first; CI builds before the tests)',
  },
  async () => {
    const out = await new Promise<string>((done, fail) => {
      // --ignore-scripts: prepack would rebuild; the maps checked are those of dist/ now.
      execFile(
        'npm',
        ['pack', '--dry-run', '--json', '--ignore-scripts'],
        { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout) =>
          err === null ? done(stdout) : fail(new Error(`npm pack: ${err.message}`)),
      );
    });
    const [report] = JSON.parse(out) as [{ files: { path: string }[] }];
    const packed = new Set(report.files.map((f) => f.path));
    const maps = [...packed].filter((p) => p.endsWith('.map'));
    assert.ok(maps.length > 10, `only ${maps.length} maps in the package`);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot } = JSON.parse(readFileSync(join(ROOT, map), 'utf8')) as {
        sources: string[];
        sourceRoot?: string;
      };
      assert.ok(sources.length > 0, `${map} names no source`);
      for (const source of sources) {
        const abs = resolve(ROOT, dirname(map), sourceRoot ?? '', source);
        const inPackage = relative(ROOT, abs);
        if (!inPackage.startsWith('src/') || !packed.has(inPackage)) {
          missing.push(`${map} -> ${inPackage}`);
        }
      }
    }
    assert.deepEqual(missing, [], 'maps pointing outside the package');
  },
);

test('package - the fields an npm user sees are set and agree with the docs', () => {
  for (const field of ['name', 'version', 'description', 'license', 'engines', 'keywords']) {
    assert.ok(pkg[field] !== undefined, `package.json has no ${field}`);
  }
  assert.equal(pkg['name'], 'oslo-messaging');
  assert.match(String(pkg['version']), /^\d+\.\d+\.\d+(-[\w.]+)?$/);
  assert.match(String(pkg['description']), /oslo\.messaging/);
  assert.equal(pkg['type'], 'module');
  assert.equal(pkg['sideEffects'], false, 'importing the package opens no socket');
  // The license field names the LICENSE file's license.
  assert.equal(pkg['license'], 'Apache-2.0');
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  // engines.node is the minimum the README and CONTRIBUTING give.
  const engines = pkg['engines'] as Record<string, string>;
  const min = /^>=(\d+\.\d+)$/.exec(engines['node'] ?? '')?.[1];
  assert.ok(min !== undefined, `engines.node is ${engines['node']}, expected >=X.Y`);
  for (const doc of ['README.md', 'CONTRIBUTING.md']) {
    assert.ok(
      readFileSync(join(ROOT, doc), 'utf8').includes(`Node.js ${min} or newer`),
      `${doc} does not say "Node.js ${min} or newer" (engines.node ${engines['node']})`,
    );
  }
  const keywords = pkg['keywords'] as unknown[];
  assert.ok(Array.isArray(keywords) && keywords.every((k) => typeof k === 'string'));
  for (const k of ['openstack', 'oslo.messaging', 'rabbitmq']) assert.ok(keywords.includes(k));
  const files = pkg['files'] as string[];
  for (const f of ['dist', 'README.md', 'CHANGELOG.md', 'LICENSE']) {
    assert.ok(files.includes(f), `"files" does not ship ${f}`);
    assert.ok(existsSync(join(ROOT, f)) || f === 'dist', `"files" names a missing ${f}`);
  }
});

test('package - main, types, exports and bin point to what the build makes from src/', () => {
  const exportsMap = pkg['exports'] as Record<string, string | Record<string, string>>;
  const dot = exportsMap['.'] as Record<string, string>;
  assert.equal(pkg['main'], dot['default']);
  assert.equal(pkg['types'], dot['types']);
  for (const [entry, target] of Object.entries(exportsMap)) {
    if (typeof target === 'string') {
      assert.ok(existsSync(join(ROOT, target)), `exports["${entry}"] names a missing ${target}`);
      continue;
    }
    assert.deepEqual(Object.keys(target), ['types', 'default'], `exports["${entry}"]: types first`);
    for (const path of Object.values(target)) {
      assert.ok(
        existsSync(join(ROOT, sourceOf(path))),
        `exports["${entry}"]: no ${sourceOf(path)}`,
      );
    }
  }
  // The API reports record exactly the entries the exports map publishes.
  assert.deepEqual(Object.keys(exportsMap).sort(), ['.', './package.json', './testing']);
  const bin = pkg['bin'] as Record<string, string>;
  assert.deepEqual(Object.keys(bin), ['oslo-messaging']);
  const cli = sourceOf(bin['oslo-messaging'] ?? '');
  assert.ok(existsSync(join(ROOT, cli)), `bin: no ${cli}`);
  assert.match(readFileSync(join(ROOT, cli), 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('package - every package src/ imports is a dependency or a peer, and every dependency is used', () => {
  const declared = new Set([
    ...Object.keys((pkg['dependencies'] as Record<string, string> | undefined) ?? {}),
    ...Object.keys((pkg['peerDependencies'] as Record<string, string> | undefined) ?? {}),
  ]);
  // Optional packages loaded at run time by createRequire, each with its own error message
  // when absent; not declared (see CONTRIBUTING on node-unix-socket and the lock file).
  const optionalAtRunTime = new Set(['node-unix-socket']);
  const used = new Set<string>();
  for (const file of tsFiles('src')) {
    const code = codeOf(file);
    for (const m of code.matchAll(
      /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|\)\s*\(\s*)'([^'.][^']*)'/g,
    )) {
      const spec = m[1] ?? '';
      if (spec.startsWith('node:')) continue;
      const name = spec.startsWith('@')
        ? spec.split('/').slice(0, 2).join('/')
        : spec.split('/')[0];
      if (name !== undefined) used.add(name);
    }
  }
  const undeclared = [...used].filter((n) => !declared.has(n) && !optionalAtRunTime.has(n));
  assert.deepEqual(undeclared, [], 'src/ imports packages package.json does not declare');
  const unused = [...declared].filter((n) => !used.has(n));
  assert.deepEqual(unused, [], 'package.json declares runtime packages src/ never imports');
  assert.ok(used.has('node-unix-socket'), 'the optional oslo.metrics peer is still loaded');
});
