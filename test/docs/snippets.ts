/**
 * The TypeScript snippets of the documentation, as programs: fenced blocks marked `ts`
 * (or `typescript`) in README.md, CONTRIBUTING.md, docs/ and the examples' READMEs.
 *
 * A block's info string may add, after the language:
 * - `check-only`: typechecked, never run (it needs RabbitMQ or an OpenStack host's files);
 * - `group=NAME`: the blocks of a file with the same group are one program, in order,
 *   as a reader pasting them one after the other would run them.
 *
 * Every other block is a complete program, run against `fake://`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One program made of one or more snippets. */
export interface DocProgram {
  /** `README.md#3`, or `README.md#rpc` for a group. */
  readonly name: string;
  readonly file: string;
  /** The 1-based line of the first block. */
  readonly line: number;
  readonly source: string;
  readonly run: boolean;
}

const FENCE = /^```(ts|typescript)([^\n`]*)\n([\s\S]*?)^```\s*$/gm;

/** The Markdown files whose snippets are checked, relative to `root`. */
export function docFiles(root: string): string[] {
  const files = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', 'BENCHMARKS.md'];
  const docs = readdirSync(join(root, 'docs'), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => join('docs', e.name));
  const examples = readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join('examples', e.name, 'README.md'))
    .filter((p) => {
      try {
        readFileSync(join(root, p));
        return true;
      } catch {
        return false;
      }
    });
  return [...files, ...docs, ...examples].filter((p) => {
    try {
      readFileSync(join(root, p));
      return true;
    } catch {
      return false;
    }
  });
}

/** The programs of one Markdown file. */
export function programsOf(root: string, file: string): DocProgram[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: DocProgram[] = [];
  const groups = new Map<string, { line: number; parts: string[]; run: boolean }>();
  let index = 0;
  for (const match of text.matchAll(FENCE)) {
    index += 1;
    const info = (match[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const body = match[3] ?? '';
    const line = text.slice(0, match.index).split('\n').length;
    const checkOnly = info.includes('check-only');
    const group = info.find((w) => w.startsWith('group='))?.slice('group='.length);
    if (group === undefined) {
      out.push({ name: `${file}#${index}`, file, line, source: body, run: !checkOnly });
      continue;
    }
    const g = groups.get(group) ?? { line, parts: [], run: true };
    g.parts.push(body);
    // A group runs only if none of its blocks is check-only.
    g.run &&= !checkOnly;
    groups.set(group, g);
  }
  for (const [group, g] of groups) {
    out.push({
      name: `${file}#${group}`,
      file,
      line: g.line,
      source: g.parts.join('\n'),
      run: g.run,
    });
  }
  return out;
}

/** A file name for a program. */
export function fileNameOf(p: DocProgram): string {
  return `${p.name.replace(/[^A-Za-z0-9]+/g, '_')}.ts`;
}

/** `README.md:42` style location. */
export function where(root: string, p: DocProgram): string {
  return `${relative(root, join(root, p.file))}:${p.line}`;
}
