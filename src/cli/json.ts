/**
 * JSON in and out of the tool, with numbers kept exact: `--args '{"n": 18446744073709551616}'`
 * sends that int, and a received `bigint`, whole float or `NaN` is printed as Python would
 * print it (`18446744073709551616`, `1.0`, `NaN`), never rounded or refused.
 *
 * @module
 */
import { isReceivedFloat, PyFloat, pyDumps, pyFloat, pyLoads } from '../index.js';

/** Parse option text as Python's `json.loads` would (big ints exact, `NaN` accepted). */
export function parseJson(text: string): unknown {
  return pyLoads(text);
}

function write(value: unknown, indent: string, depth: number, asFloat: boolean): string {
  switch (typeof value) {
    case 'number':
      return pyDumps(asFloat ? pyFloat(value) : value);
    case 'bigint':
      return value.toString();
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (value === null || typeof value !== 'object') return 'null';
  if (value instanceof PyFloat) return pyDumps(value);
  const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    return write((toJSON as () => unknown).call(value), indent, depth, false);
  }
  const pad = indent === '' ? '' : '\n' + indent.repeat(depth + 1);
  const end = indent === '' ? '' : '\n' + indent.repeat(depth);
  const sep = indent === '' ? ':' : ': ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item: unknown, i) =>
      write(item, indent, depth + 1, isReceivedFloat(value, i)),
    );
    return `[${pad}${items.join(',' + pad)}${end}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(
    ([, item]) => item !== undefined,
  );
  if (entries.length === 0) return '{}';
  const items = entries.map(
    ([key, item]) =>
      JSON.stringify(key) + sep + write(item, indent, depth + 1, isReceivedFloat(value, key)),
  );
  return `{${pad}${items.join(',' + pad)}${end}}`;
}

/**
 * JSON text for output: compact like `JSON.stringify(value)`, or indented by `indent`
 * spaces; numbers as Python writes them.
 */
export function formatJson(value: unknown, indent = 0): string {
  return write(value, ' '.repeat(indent), 0, false);
}
