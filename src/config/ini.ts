/**
 * The INI dialect of oslo.config (`nova.conf` and friends), read the way oslo.config's own
 * parser reads it, so that a file means the same here as in a Python service.
 *
 * @module
 */
import { ConfigurationError } from '../errors.js';
import { findOption, normalizeGroup } from './options.js';
import type { ConfigObject } from './types.js';

/**
 * Parses oslo.config INI text into a {@link ConfigObject} of strings.
 *
 * The dialect, as oslo.config's parser has it:
 * - `[section]` starts a group; group names are case-insensitive except `DEFAULT`.
 * - `key = value` or `key: value`, split at whichever of `=` and `:` comes first; key and
 *   value are trimmed, and one pair of matching quotes around the value is removed.
 * - A line starting with `#` or `;` is a comment; there are no comments after a value.
 * - A line starting with a space or tab continues the previous value (joined with `\n`);
 *   a blank line ends it.
 * - A key given again: every value is kept for multi-valued options (`driver`), otherwise
 *   the last one wins.
 *
 * @param source - file name for error messages
 * @throws ConfigurationError naming the source and line of a malformed line
 */
export function parseIni(text: string, source = '<string>'): ConfigObject {
  const sections = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  let key: string | undefined;
  let value: string[] = [];
  let lineNo = 0;

  const fail = (message: string, line: string): never => {
    throw new ConfigurationError(`${source}:${lineNo}: ${message}: ${JSON.stringify(line)}`);
  };
  const flush = (): void => {
    if (key === undefined) return;
    const values = section?.get(key);
    if (values === undefined) section?.set(key, [value.join('\n')]);
    else values.push(value.join('\n'));
    key = undefined;
    value = [];
  };

  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    lineNo += 1;
    const line = raw.trimEnd();
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (key === undefined) fail('Unexpected continuation line', line);
      value.push(line.trimStart());
      continue;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) fail('Invalid section (must end with ])', line);
      if (line.length <= 2) fail('Empty section name', line);
      const sectionName = normalizeGroup(line.slice(1, -1));
      section = sections.get(sectionName);
      if (section === undefined) sections.set(sectionName, (section = new Map<string, string[]>()));
    } else if (!line.startsWith('#') && !line.startsWith(';')) {
      const equal = line.indexOf('=');
      const colon = line.indexOf(':');
      if (equal < 0 && colon < 0) fail("No ':' or '=' found in assignment", line);
      const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
      key = line.slice(0, at).trim();
      if (key === '') fail('Key cannot be empty', line);
      if (section === undefined) fail('Section must be started before assignment', line);
      value = [unquote(line.slice(at + 1).trim())];
    }
  }
  flush();

  // fromEntries, not assignment: a key named __proto__ must stay an ordinary key.
  return Object.fromEntries(
    Array.from(sections, ([group, options]) => [
      group,
      Object.fromEntries(
        Array.from(options, ([name, values]) => [
          name,
          findOption(group, name)?.type === 'multi' ? values : values.at(-1),
        ]),
      ),
    ]),
  );
}

/** oslo.config drops one pair of matching quotes around a value (`"x"` or `'x'`). */
function unquote(value: string): string {
  const first = value[0];
  return (first === '"' || first === "'") && value.at(-1) === first ? value.slice(1, -1) : value;
}
