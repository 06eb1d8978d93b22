/**
 * Command-line parsing for the tool: option tables per subcommand (node:util `parseArgs`,
 * strict), generated `--help`, and checked conversions of option values. Every bad value
 * becomes a {@link UsageError} that names the option.
 *
 * @module
 */
import { parseArgs } from 'node:util';

import { UsageError } from './errors.js';
import { parseJson } from './json.js';

/** The name the tool is invoked as, in messages and help. */
export const PROG = 'oslo-messaging';

/** One option of a subcommand. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** May be given more than once (values are collected in order). */
  readonly multiple?: boolean;
  /** Placeholder of the value in help, e.g. `MS`. */
  readonly value?: string;
  readonly help: string;
}

/** A positional argument of a subcommand. */
export interface PositionalSpec {
  readonly name: string;
  readonly help: string;
  readonly required: boolean;
}

/** A subcommand: its options and positionals, for parsing and for `--help`. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly positionals?: readonly PositionalSpec[];
  readonly examples?: readonly string[];
}

/** Parsed options: strings, string lists, booleans. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The result of parsing a subcommand's arguments. */
export interface ParsedArgs {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

/** Options every subcommand that talks to a broker takes. */
export const CONNECTION_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  url: {
    type: 'string',
    value: 'URL',
    help:
      'transport URL, e.g. rabbit://user:pass@host:5672/ (default: $OSLO_MESSAGING_TRANSPORT_URL, ' +
      'then transport_url from --config-file, then rabbit://guest:guest@localhost:5672/)',
  },
  'config-file': {
    type: 'string',
    multiple: true,
    value: 'PATH',
    help: 'oslo-style INI file (nova.conf); later files win',
  },
  'connect-timeout': {
    type: 'string',
    value: 'MS',
    help: 'give up when the broker is not reached in this time (default 10000)',
  },
  debug: { type: 'boolean', help: "print the library's log lines on stderr" },
};

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };

/** Parse `argv` (after the subcommand name) against a command's table. */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
  > = { help: { type: 'boolean', short: 'h' } };
  for (const [name, opt] of Object.entries(spec.options)) {
    options[name] = {
      type: opt.type,
      ...(opt.short === undefined ? {} : { short: opt.short }),
      ...(opt.multiple === true ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: (spec.positionals?.length ?? 0) > 0,
    });
  } catch (err) {
    throw new UsageError(parseErrorMessage(err), spec.name);
  }
  const values: OptionValues = parsed.values;
  const help = values['help'] === true;
  if (!help) checkPositionals(spec, parsed.positionals);
  return { values, positionals: parsed.positionals, help };
}

function parseErrorMessage(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  // node's messages are long-winded about `--`; keep the first sentence.
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return message.split('. ')[0] ?? message;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return message.split('. ')[0] ?? message;
  return message;
}

function checkPositionals(spec: CommandSpec, positionals: readonly string[]): void {
  const specs = spec.positionals ?? [];
  const required = specs.filter((p) => p.required);
  if (positionals.length < required.length) {
    const missing = required[positionals.length];
    throw new UsageError(`missing argument ${missing?.name ?? ''}`.trim(), spec.name);
  }
  if (positionals.length > specs.length) {
    throw new UsageError(`unexpected argument '${positionals[specs.length] ?? ''}'`, spec.name);
  }
}

/** The help text of a subcommand. */
export function commandHelp(spec: CommandSpec): string {
  const positionals = (spec.positionals ?? [])
    .map((p) => (p.required ? p.name : `[${p.name}]`))
    .join(' ');
  const lines = [
    `Usage: ${PROG} ${spec.name} [options]${positionals === '' ? '' : ` ${positionals}`}`,
  ];
  lines.push('', spec.summary);
  if (spec.description !== undefined) lines.push('', spec.description);
  if ((spec.positionals?.length ?? 0) > 0) {
    lines.push('', 'Arguments:');
    for (const p of spec.positionals ?? []) lines.push(formatRow(p.name, p.help));
  }
  lines.push('', 'Options:');
  for (const [name, opt] of Object.entries({ ...spec.options, help: HELP_OPTION })) {
    const flag = `${opt.short === undefined ? '' : `-${opt.short}, `}--${name}`;
    const value = opt.type === 'string' ? ` ${opt.value ?? 'VALUE'}` : '';
    lines.push(formatRow(flag + value, opt.help + (opt.multiple === true ? ' (repeatable)' : '')));
  }
  if ((spec.examples?.length ?? 0) > 0) {
    lines.push('', 'Examples:');
    for (const example of spec.examples ?? []) lines.push(`  ${example}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `  --name VALUE   help`, the help wrapped under a 28-column name field. */
export function formatRow(name: string, help: string): string {
  const width = 28;
  const words = help.split(' ');
  const out: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + word.length + 1 > 100 - width - 2) {
      out.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  out.push(line);
  const head = `  ${name}`;
  const first =
    head.length >= width
      ? `${head}\n${' '.repeat(width)}${out[0] ?? ''}`
      : head.padEnd(width) + (out[0] ?? '');
  return [first, ...out.slice(1).map((l) => ' '.repeat(width) + l)].join('\n');
}

// ---------------------------------------------------------------------------
// Values

/** A string option's value, or `undefined`. */
export function stringOpt(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`--${name} takes a value`);
  return value;
}

/** A repeatable string option's values (empty when not given). */
export function listOpt(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => {
    if (typeof v !== 'string') throw new UsageError(`--${name} takes a value`);
    return v;
  });
}

/** A boolean flag. */
export function flagOpt(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** A non-empty name (topic, server, exchange...). */
export function nameOpt(values: OptionValues, name: string): string | undefined {
  const value = stringOpt(values, name);
  if (value === '') throw new UsageError(`--${name} must not be empty`);
  return value;
}

/** An integer option within bounds, or `undefined` when not given. */
export function intOpt(
  values: OptionValues,
  name: string,
  bounds: { min?: number; max?: number } = {},
): number | undefined {
  const text = stringOpt(values, name);
  if (text === undefined) return undefined;
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN;
  return checkBounds(name, text, n, bounds, 'an integer');
}

/** A number option (decimals allowed) within bounds, or `undefined` when not given. */
export function numberOpt(
  values: OptionValues,
  name: string,
  bounds: { min?: number; max?: number; exclusiveMin?: boolean } = {},
): number | undefined {
  const text = stringOpt(values, name);
  if (text === undefined) return undefined;
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  const value = checkBounds(name, text, n, bounds, 'a number');
  if (bounds.exclusiveMin === true && bounds.min !== undefined && value <= bounds.min) {
    throw new UsageError(`--${name} must be a number > ${bounds.min}, got '${text}'`);
  }
  return value;
}

function checkBounds(
  name: string,
  text: string,
  n: number,
  bounds: { min?: number; max?: number },
  what: string,
): number {
  const range =
    bounds.min !== undefined && bounds.max !== undefined
      ? ` between ${bounds.min} and ${bounds.max}`
      : bounds.min !== undefined
        ? ` >= ${bounds.min}`
        : bounds.max !== undefined
          ? ` <= ${bounds.max}`
          : '';
  if (
    !Number.isFinite(n) ||
    (bounds.min !== undefined && n < bounds.min) ||
    (bounds.max !== undefined && n > bounds.max)
  ) {
    throw new UsageError(`--${name} must be ${what}${range}, got '${text}'`);
  }
  return n;
}

/** One of a fixed set of values. */
export function choiceOpt<T extends string>(
  values: OptionValues,
  name: string,
  choices: readonly T[],
): T | undefined {
  const text = stringOpt(values, name);
  if (text === undefined) return undefined;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${text}'`);
  }
  return text as T;
}

/**
 * Any JSON value from an option, or `undefined` when not given. Read as Python reads it:
 * integers beyond 2^53 arrive as `bigint`s, `NaN` and `Infinity` are accepted.
 */
export function jsonOpt(values: OptionValues, name: string): unknown {
  const text = stringOpt(values, name);
  if (text === undefined) return undefined;
  try {
    return parseJson(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UsageError(`--${name} is not valid JSON: ${reason}`);
  }
}

/** A JSON object from an option (`{}` when not given). */
export function jsonObjectOpt(values: OptionValues, name: string): Record<string, unknown> {
  const value = jsonOpt(values, name);
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`--${name} must be a JSON object, e.g. '{"key": "value"}'`);
  }
  return value as Record<string, unknown>;
}
