/**
 * The parser of the Python regex translation (./python-re.ts): Python 3.11's
 * `re/_parser.py`, step for step, building a small tree in which every character class
 * is already the exact set of code points Python would match (flags applied), and raising
 * Python's errors where Python raises them.
 *
 * @module
 */
import { PatternError } from '../errors.js';
import { caseLiteral, complement, MAX_CODE_POINT, single } from './python-re-sets.js';
import {
  FLAG_LETTERS,
  IDENTIFIER,
  Parser,
  parseClass,
  parseEscape,
  parseFlags,
  parseRepeat,
  reference,
  SPECIAL,
  WHITESPACE,
  withFlags,
  type Flags,
  type Node,
} from './python-re-syntax.js';

export type { Node } from './python-re-syntax.js';

// ---------------------------------------------------------------------------------------
// Parsing (the structure follows re/_parser.py)

function parseSub(ps: Parser, flags: Flags, verbose: boolean, nested: number): Node {
  const items: Node[] = [];
  const firstGroup = ps.widths.length;
  for (;;) {
    // Global flags (only allowed at the very start) hold for every branch.
    const branchFlags = nested === 0 ? ps.globalFlags : flags;
    items.push(parseSeq(ps, branchFlags, verbose, nested + 1, nested === 0 && items.length === 0));
    if (!ps.match('|')) break;
    if (nested === 0) verbose = ps.globalFlags.x;
  }
  if (items.length === 1) return items[0]!;
  for (let g = firstGroup; g < ps.widths.length; g++) ps.maybeUnset.add(g);
  return { t: 'alt', items };
}

function parseSeq(ps: Parser, flags: Flags, verbose: boolean, nested: number, first: boolean) {
  const items: Node[] = [];
  /** For each item: the first group number opened inside it. */
  const groupStarts: number[] = [];
  for (;;) {
    const token = ps.peek();
    if (token === undefined || token === '|' || token === ')') break;
    const start = ps.pos;
    const groupsBefore = ps.widths.length;
    ps.get();
    if (verbose && WHITESPACE.includes(token)) continue;
    if (verbose && token === '#') {
      while (ps.pos < ps.pattern.length && ps.get() !== '\n');
      continue;
    }
    if (token.startsWith('\\')) {
      items.push(parseEscape(ps, token, flags, start));
    } else if (!SPECIAL.includes(token)) {
      const c = token.codePointAt(0)!;
      items.push({ t: 'set', set: flags.i ? caseLiteral(c, flags.a) : single(c) });
    } else if (token === '[') {
      items.push(parseClass(ps, flags, start));
    } else if ('*+?{'.includes(token)) {
      const repeat = parseRepeat(ps, token, start);
      if (repeat === undefined) {
        items.push({ t: 'set', set: single(0x7b) }); // a `{` that starts no quantifier
      } else {
        const item = items.pop();
        if (item === undefined || item.t === 'at') ps.fail('nothing to repeat', start);
        if (item.t === 'repeat') ps.fail('multiple repeat', start);
        if (repeat.mode === 'possessive' && containsLookbehind(item)) {
          // CPython itself matches these wrongly ('k(?<=K)*+' matches an empty span of 'k').
          ps.unsupported('a possessive quantifier over a lookbehind', start);
        }
        const itemGroups = groupStarts.pop() ?? ps.widths.length;
        if (repeat.min === 0)
          for (let g = itemGroups; g < ps.widths.length; g++) ps.maybeUnset.add(g);
        items.push({ t: 'repeat', ...repeat, body: item });
        groupStarts.push(itemGroups);
        continue;
      }
    } else if (token === '.') {
      items.push({ t: 'set', set: flags.s ? [[0, MAX_CODE_POINT]] : complement(single(10)) });
    } else if (token === '(') {
      const result = parseGroup(ps, flags, verbose, nested, first && items.length === 0, start);
      if (result === 'comment') continue;
      if (result === 'flags') {
        flags = ps.globalFlags;
        verbose = flags.x;
        continue;
      }
      items.push(result);
    } else if (token === '^') {
      items.push({ t: 'at', src: flags.m ? '(?:(?<![\\s\\S])|(?<=\\n))' : '(?<![\\s\\S])' });
    } else if (token === '$') {
      items.push({ t: 'at', src: flags.m ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))' });
    }
    groupStarts.push(groupsBefore);
  }
  return items.length === 1 ? items[0]! : ({ t: 'seq', items } as Node);
}

function parseGroup(
  ps: Parser,
  flags: Flags,
  verbose: boolean,
  nested: number,
  first: boolean,
  start: number,
): Node | 'comment' | 'flags' {
  let capture = true;
  let atomic = false;
  let name: string | undefined;
  let inner = flags;
  let subVerbose = verbose;
  if (ps.match('?')) {
    const char = ps.get();
    if (char === undefined) ps.fail('unexpected end of pattern');
    if (char === 'P') {
      if (ps.match('<')) {
        name = ps.getUntil('>', 'group name');
        if (!IDENTIFIER.test(name))
          ps.fail(`bad character in group name '${name}'`, ps.pos - name.length - 1);
      } else if (ps.match('=')) {
        const ref = ps.getUntil(')', 'group name');
        if (!IDENTIFIER.test(ref))
          ps.fail(`bad character in group name '${ref}'`, ps.pos - ref.length - 1);
        const id = ps.names.get(ref);
        if (id === undefined) ps.fail(`unknown group name '${ref}'`, ps.pos - ref.length - 1);
        return reference(ps, id, flags, start, start);
      } else {
        const next = ps.get();
        if (next === undefined) ps.fail('unexpected end of pattern');
        ps.fail(`unknown extension ?P${next}`, ps.pos - next.length - 2);
      }
    } else if (char === ':') {
      capture = false;
    } else if (char === '#') {
      for (;;) {
        if (ps.peek() === undefined) ps.fail('missing ), unterminated comment', start);
        if (ps.get() === ')') return 'comment';
      }
    } else if ('=!<'.includes(char)) {
      let behind = false;
      let kind = char;
      if (char === '<') {
        const next = ps.get();
        if (next === undefined) ps.fail('unexpected end of pattern');
        if (!'=!'.includes(next)) ps.fail(`unknown extension ?<${next}`, ps.pos - next.length - 2);
        behind = true;
        kind = next;
      }
      const firstGroup = ps.widths.length;
      if (behind) ps.lookbehindDepth += 1;
      const body = parseSub(ps, flags, verbose, nested + 1);
      if (behind) ps.lookbehindDepth -= 1;
      if (!ps.match(')')) ps.fail('missing ), unterminated subpattern', start);
      if (kind === '!') for (let g = firstGroup; g < ps.widths.length; g++) ps.maybeUnset.add(g);
      if (behind) {
        const [lo, hi] = width(ps, body);
        if (lo !== hi)
          throw new PatternError('look-behind requires fixed-width pattern', ps.pattern);
      }
      return { t: 'look', behind, neg: kind === '!', body };
    } else if (char === '(') {
      ps.unsupported('a conditional group (?(id/name)yes|no)', start);
    } else if (char === '>') {
      capture = false;
      atomic = true;
    } else if (FLAG_LETTERS.includes(char) || char === '-') {
      const scoped = parseFlags(ps, char, start);
      if (scoped === undefined) {
        if (!first) ps.fail('global flags not at the start of the expression', start);
        const add = ps.pattern.slice(start + 2, ps.pos - 1);
        ps.globalFlags = withFlags(ps.globalFlags, add, '');
        return 'flags';
      }
      inner = withFlags(flags, scoped.add, scoped.del);
      subVerbose = (verbose || scoped.add.includes('x')) && !scoped.del.includes('x');
      capture = false;
    } else {
      ps.fail(`unknown extension ?${char}`, ps.pos - char.length - 1);
    }
  }
  let id: number | undefined;
  if (capture) {
    id = ps.widths.length;
    ps.widths.push(undefined);
    if (name !== undefined) {
      const old = ps.names.get(name);
      if (old !== undefined) {
        ps.fail(
          `redefinition of group name '${name}' as group ${id}; was group ${old}`,
          ps.pos - name.length - 1,
        );
      }
      ps.names.set(name, id);
    }
  }
  const body = parseSub(ps, inner, subVerbose, nested + 1);
  if (!ps.match(')')) ps.fail('missing ), unterminated subpattern', start);
  if (id !== undefined) ps.widths[id] = width(ps, body);
  if (atomic) return { t: 'atomic', body };
  return { t: 'group', id, body };
}

function containsLookbehind(node: Node): boolean {
  switch (node.t) {
    case 'look':
      return node.behind || containsLookbehind(node.body);
    case 'seq':
    case 'alt':
      return node.items.some(containsLookbehind);
    case 'group':
    case 'atomic':
    case 'repeat':
      return containsLookbehind(node.body);
    default:
      return false;
  }
}

/** Python's `getwidth()`: the least and greatest number of characters a node matches. */
function width(ps: Parser, node: Node): [number, number] {
  switch (node.t) {
    case 'set':
      return [1, 1];
    case 'at':
    case 'look':
      return [0, 0];
    case 'seq':
      return node.items.reduce<[number, number]>(
        (acc, item) => {
          const [lo, hi] = width(ps, item);
          return [acc[0] + lo, acc[1] + hi];
        },
        [0, 0],
      );
    case 'alt': {
      const all = node.items.map((item) => width(ps, item));
      return [Math.min(...all.map((w) => w[0])), Math.max(...all.map((w) => w[1]))];
    }
    case 'group':
    case 'atomic':
      return width(ps, node.body);
    case 'repeat': {
      const [lo, hi] = width(ps, node.body);
      return [lo * node.min, hi === 0 ? 0 : hi * node.max];
    }
    case 'ref':
      return ps.widths[node.id] ?? [0, Infinity];
  }
}

/**
 * Parse a Python pattern into a tree.
 *
 * @throws PatternError where Python would refuse the pattern
 * @throws UnsupportedPattern for a valid pattern with no exact translation
 */
export function parsePattern(pattern: string): Node {
  const ps = new Parser(pattern);
  const tree = parseSub(ps, ps.globalFlags, false, 0);
  if (ps.pos < pattern.length) ps.fail('unbalanced parenthesis');
  for (const ref of ps.refs) {
    if (ps.maybeUnset.has(ref.id)) {
      ps.unsupported('a backreference to a group that may not take part in the match', ref.pos);
    }
  }
  if (ps.lookbehindDepth !== 0) ps.fail('unbalanced parenthesis');
  return tree;
}
