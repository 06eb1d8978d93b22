/**
 * The TypeScript snippets of the documentation, as programs: fenced blocks marked `ts`
 * (or `typescript`) in README.md, CONTRIBUTING.md, docs/ and the examples' READMEs, and
 * in the `@example` sections of the TSDoc comments in src/ (what the API reference shows).
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

/** The TypeScript files of src/ (tests excluded), relative to `root`, sorted. */
export function sourceFiles(root: string): string[] {
  return readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

/** One `@example` section of a TSDoc comment. */
export interface TsdocExample {
  readonly file: string;
  /** The 1-based line of the `@example` tag. */
  readonly line: number;
  /** What the comment documents (`Notifier`, `prepare`), for test names. */
  readonly documents: string;
  /** The fenced code blocks of the section: language, info words, body. */
  readonly blocks: readonly { lang: string; info: string[]; body: string; line: number }[];
}

const COMMENT = /\/\*\*([\s\S]*?)\*\//g;
const DECLARED =
  /^\s*(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|interface|type|const|let|enum)?\s*(?:(?:get|set|static|readonly|public|protected)\s+)*\*?\s*([A-Za-z_$][\w$]*)/;

/**
 * The `@example` sections of the TSDoc comments of one source file. A section runs from
 * its tag to the next block tag (`@throws`, `@example`...) outside a code fence, or to the
 * end of the comment; inside a fence, a line starting with `@` (a decorator) is code.
 */
export function examplesOf(root: string, file: string): TsdocExample[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: TsdocExample[] = [];
  for (const match of text.matchAll(COMMENT)) {
    const firstLine = text.slice(0, match.index).split('\n').length;
    // Each comment line without its leading ` * `.
    const lines = (match[1] ?? '').split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
    const after = text.slice(match.index + match[0].length).split('\n', 3);
    const documents =
      after
        .map((l) => DECLARED.exec(l)?.[1])
        .find((n) => n !== undefined && n !== 'export' && n !== 'import') ?? 'module';
    let current:
      | { line: number; blocks: { lang: string; info: string[]; body: string; line: number }[] }
      | undefined;
    let fence: { lang: string; info: string[]; body: string[]; line: number } | undefined;
    const close = (): void => {
      if (current !== undefined) out.push({ file, documents, ...current });
      current = undefined;
    };
    lines.forEach((l, i) => {
      const line = firstLine + i;
      if (fence !== undefined) {
        if (/^```\s*$/.test(l)) {
          current?.blocks.push({ ...fence, body: `${fence.body.join('\n')}\n` });
          fence = undefined;
        } else {
          fence.body.push(l);
        }
        return;
      }
      const open = /^```(\S*)(.*)$/.exec(l);
      if (open !== null) {
        const info = (open[2] ?? '').trim().split(/\s+/).filter(Boolean);
        fence = { lang: open[1] ?? '', info, body: [], line: line + 1 };
        return;
      }
      if (/^@\w/.test(l)) {
        close();
        if (/^@example\b/.test(l)) current = { line, blocks: [] };
      }
    });
    close();
  }
  return out;
}

/**
 * The programs of the `@example` sections of one source file: each `ts` block is a
 * program (or joins its `group=`), with the same info words as in Markdown.
 */
export function examplePrograms(root: string, file: string): DocProgram[] {
  const out: DocProgram[] = [];
  const groups = new Map<string, { line: number; parts: string[]; run: boolean }>();
  let index = 0;
  for (const ex of examplesOf(root, file)) {
    for (const b of ex.blocks) {
      if (b.lang !== 'ts' && b.lang !== 'typescript') continue;
      index += 1;
      const checkOnly = b.info.includes('check-only');
      const group = b.info.find((w) => w.startsWith('group='))?.slice('group='.length);
      if (group === undefined) {
        out.push({
          name: `${file}#${ex.documents}-${index}`,
          file,
          line: b.line,
          source: b.body,
          run: !checkOnly,
        });
        continue;
      }
      const g = groups.get(group) ?? { line: b.line, parts: [], run: true };
      g.parts.push(b.body);
      g.run &&= !checkOnly;
      groups.set(group, g);
    }
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
