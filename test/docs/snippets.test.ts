/**
 * Every TypeScript snippet in the documentation (README, docs/, and the `@example`
 * sections of the TSDoc in src/, which the API reference shows) compiles under the
 * project's strict settings, and every one that is a complete program runs (against
 * `fake://`), as a reader would paste it: `import ... from 'oslo-messaging'` resolves to
 * this checkout. See `snippets.ts` for how blocks are marked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { parse as parseYaml } from 'yaml';

import { routeNotification } from '../../src/notify/routing.js';

import {
  docFiles,
  examplePrograms,
  examplesOf,
  fileNameOf,
  programsOf,
  sourceFiles,
  where,
  type DocProgram,
} from './snippets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Under the repository (ESM by its package.json; build-check/ is ignored by git and lint).
const DIR = join(ROOT, 'build-check', `doc-snippets-${process.pid}`);

const sources = sourceFiles(ROOT);
const examples = sources.flatMap((f) => examplesOf(ROOT, f));
const programs: DocProgram[] = [
  ...docFiles(ROOT).flatMap((f) => programsOf(ROOT, f)),
  ...sources.flatMap((f) => examplePrograms(ROOT, f)),
];
let diagnostics = new Map<string, string[]>();

before(() => {
  mkdirSync(DIR, { recursive: true });
  const tsconfig = {
    extends: join(ROOT, 'tsconfig.json'),
    compilerOptions: {
      noEmit: true,
      rootDir: ROOT,
      paths: {
        'oslo-messaging': [join(ROOT, 'src/index.ts')],
        'oslo-messaging/testing': [join(ROOT, 'src/testing/index.ts')],
      },
    },
    include: ['*.ts'],
    // The base's outDir (build-check/) would otherwise exclude this very folder.
    exclude: [],
  };
  writeFileSync(join(DIR, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  for (const p of programs) {
    // `export {}` keeps each program a module of its own (top-level await, own scope).
    writeFileSync(join(DIR, fileNameOf(p)), `${p.source}\nexport {};\n`);
  }
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(DIR, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (parsed === undefined || parsed.errors.length > 0 || parsed.fileNames.length === 0) {
    const why = parsed?.errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, ' '));
    throw new Error(`cannot read the snippets tsconfig: ${why?.join('; ') ?? ''}`);
  }
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  diagnostics = new Map();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName ?? '(global)';
    const pos =
      d.file !== undefined && d.start !== undefined
        ? d.file.getLineAndCharacterOfPosition(d.start)
        : undefined;
    const text = `${pos === undefined ? '' : `line ${pos.line + 1}: `}${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    diagnostics.set(file, [...(diagnostics.get(file) ?? []), text]);
  }
});

after(() => rmSync(DIR, { recursive: true, force: true }));

test('docs - the documentation has TypeScript snippets to check', () => {
  assert.ok(programs.length >= 5, `only ${programs.length} snippets found`);
});

test('docs - the TSDoc comments of src/ have @example sections to check', () => {
  assert.ok(examples.length >= 15, `only ${examples.length} @example sections found`);
});

test('docs - the YAML of an @example in src/ is a routing configuration the routing driver accepts', () => {
  const blocks = examples.flatMap((ex) =>
    ex.blocks.filter((b) => b.lang !== 'ts' && b.lang !== 'typescript').map((b) => ({ ex, b })),
  );
  assert.ok(blocks.length > 0, 'no YAML example left: drop this test');
  for (const { ex, b } of blocks) {
    const at = `${ex.file}:${b.line}`;
    // Only YAML is checked besides TypeScript; another language would go unchecked.
    assert.equal(b.lang, 'yaml', `${at}: an @example in ${b.lang}, which this test can't check`);
    assert.equal(ex.file, 'src/notify/routing.ts', `${at}: YAML outside the routing driver`);
    const config = parseYaml(b.body) as unknown;
    // Every group's drivers are chosen without error for an event of each kind it names.
    assert.deepEqual(routeNotification(config, 'compute.instance.exists', 'info'), [
      'messagingv2',
      'log',
    ]);
    assert.deepEqual(routeNotification(config, 'compute.scheduler.run_instance.start', 'debug'), [
      'messagingv2',
    ]);
  }
});

test('docs - every @example in src/ is a fenced code block (so the reference renders it as code)', () => {
  const bare = examples.filter((ex) => ex.blocks.length === 0);
  assert.deepEqual(
    bare.map((ex) => `${ex.file}:${ex.line} (${ex.documents})`),
    [],
    'an @example without a fenced block is neither rendered as code nor checked',
  );
});

test('docs - the TSDoc comments of src/ have @example sections to check', () => {
  assert.ok(examples.length >= 15, `only ${examples.length} @example sections found`);
});

test('docs - every @example in src/ is a fenced code block (so the reference renders it as code)', () => {
  const bare = examples.filter((ex) => ex.blocks.length === 0);
  assert.deepEqual(
    bare.map((ex) => `${ex.file}:${ex.line} (${ex.documents})`),
    [],
    'an @example without a fenced block is neither rendered as code nor checked',
  );
});

for (const p of programs) {
  test(`docs - ${p.name} (${where(ROOT, p)}) compiles under the strict settings`, () => {
    const file = join(DIR, fileNameOf(p));
    const errors = [...diagnostics.entries()]
      .filter(([f]) => f === file || f === '(global)')
      .flatMap(([, list]) => list);
    assert.deepEqual(errors, [], `${where(ROOT, p)}:\n${errors.join('\n')}`);
  });
  if (!p.run) continue;
  test(`docs - ${p.name} (${where(ROOT, p)}) runs`, async () => {
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', fileNameOf(p)],
          { cwd: DIR, timeout: 30_000, env: { ...process.env, OSLO_MESSAGING_TRANSPORT_URL: '' } },
          (err, stdout, stderr) =>
            resolve({
              code: err === null ? 0 : typeof err.code === 'number' ? err.code : null,
              stdout,
              stderr,
            }),
        );
      },
    );
    assert.equal(run.code, 0, `${where(ROOT, p)} failed:\n${run.stderr}${run.stdout}`);
  });
}
