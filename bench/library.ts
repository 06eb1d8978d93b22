/**
 * Which build of the library the bench peers run. By default the compiled `dist/`, as an
 * application gets it from the package (the TypeScript sources run through tsx carry
 * its helpers on every function, a few percent of CPU that users do not pay);
 * `BENCH_LIB=src` runs the sources instead. The orchestrators call {@link buildLibrary}
 * first, so `dist/` always matches the sources being measured.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** `dist` or `src`, from `BENCH_LIB`. */
export function libraryBuild(): 'dist' | 'src' {
  return process.env['BENCH_LIB'] === 'src' ? 'src' : 'dist';
}

/** Compile `dist/` from the sources (a few seconds), unless the peers run the sources. */
export function buildLibrary(log: (line: string) => void): void {
  if (libraryBuild() === 'src') {
    log('peers run the TypeScript sources (BENCH_LIB=src)');
    return;
  }
  log('building dist/ (the peers run the library as published; BENCH_LIB=src runs the sources)');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** The URL of a module of the library's build, e.g. `index.js` or `cli/bench/roles.js`. */
export function libraryModule(path: string): string {
  return new URL(`../${libraryBuild()}/${path}`, import.meta.url).href;
}
