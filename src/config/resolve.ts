/**
 * Resolving option values from layers of configuration (files, then overrides), with
 * oslo.config's precedence, deprecated names and `$name` substitution.
 *
 * @module
 */
import { ConfigurationError } from '../errors.js';
import { convertValue, show, ValueRejected } from './convert.js';
import {
  STRICT_GROUPS,
  findOption,
  isMessagingGroupName,
  findOwnOption,
  lookupNames,
  normalizeGroup,
} from './options.js';
import type { OptionDefinition } from './types.js';

/** One source of values: a parsed file, a plain object, or overrides. */
export interface Layer {
  readonly groups: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /**
   * Overrides replace what lies below even for multi-valued options (oslo's
   * `set_override`); files instead add their values of a multi option to earlier files'.
   */
  readonly replaces: boolean;
  /** File name, for error messages; `undefined` for a programmatic object. */
  readonly source: string | undefined;
  /** Unknown oslo.messaging options and sections of a file, ignored as Python does. */
  readonly warnings: readonly string[];
}

/** Where a value came from, for error messages. */
export function where(source: string | undefined): string {
  return source === undefined ? '' : ` (in ${source})`;
}

/**
 * Copies a {@link ConfigObject} into a layer: group names normalized, `undefined` values
 * dropped, and every option of a group owned by oslo.messaging checked to exist. In a file
 * (`source` given) an unknown option or oslo.messaging section is only a warning, as Python
 * ignores it (a newer or older release may know it); in a programmatic object it is an error.
 * @throws ConfigurationError naming `group.option` of an unknown option of an object
 */
export function makeLayer(input: unknown, replaces: boolean, source?: string): Layer {
  if (!isPlainObject(input)) {
    throw new ConfigurationError(
      `Configuration must be an object of groups of options, not ${show(input)}${where(source)}`,
    );
  }
  const groups = new Map<string, Map<string, unknown>>();
  const warnings: string[] = [];
  for (const [rawGroup, options] of Object.entries(input)) {
    if (options === undefined) continue;
    if (!isPlainObject(options)) {
      throw new ConfigurationError(
        `Group [${rawGroup}] must be an object of options, not ${show(options)}${where(source)}`,
      );
    }
    const group = normalizeGroup(rawGroup);
    if (source !== undefined && isMessagingGroupName(group)) {
      warnings.push(
        `Ignoring section [${group}]${where(source)}: no oslo.messaging release has such a group`,
      );
    }
    let target = groups.get(group);
    if (target === undefined) groups.set(group, (target = new Map<string, unknown>()));
    for (const [name, value] of Object.entries(options)) {
      if (value === undefined) continue;
      if (STRICT_GROUPS.has(group) && findOption(group, name) === undefined) {
        if (source !== undefined) {
          warnings.push(
            `Ignoring unknown option ${group}.${name}${where(source)}: ` +
              `no oslo.messaging release has such an option in group [${group}]`,
          );
          continue;
        }
        throw new ConfigurationError(
          `Unknown option ${group}.${name}: no such option ${name} in group [${group}]${where(source)}`,
          { option: `${group}.${name}` },
        );
      }
      target.set(name, Array.isArray(value) ? Object.freeze([...(value as unknown[])]) : value);
    }
  }
  return { groups, replaces, source, warnings };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What `$name` substitution needs to know about the value being substituted. */
interface Context {
  readonly group: string;
  readonly name: string;
  readonly secret: boolean;
}

/** Resolves, converts and memoises option values over a stack of layers (last wins). */
export class Resolver {
  private readonly values = new Map<string, unknown>();
  private readonly inProgress = new Set<string>();

  constructor(private readonly layers: readonly Layer[]) {}

  /** The typed value of an option. @throws ConfigurationError for a bad value */
  value(def: OptionDefinition): unknown {
    const id = `${def.group}.${def.name}`;
    if (this.values.has(id)) return this.values.get(id);
    const value = this.guard(id, def.secret === true, () => this.compute(def));
    this.values.set(id, value);
    return value;
  }

  private guard<T>(id: string, secret: boolean, fn: () => T): T {
    if (this.inProgress.has(id)) {
      throw invalid(id, secret, 'its $ substitution refers back to itself', undefined);
    }
    this.inProgress.add(id);
    try {
      return fn();
    } finally {
      this.inProgress.delete(id);
    }
  }

  private compute(def: OptionDefinition): unknown {
    // oslo.config looks at the newest source first, and within one source at the option's
    // own name before its deprecated names. A multi option instead gathers the values of
    // every file, oldest file first (and, within a file, deprecated names before its own).
    const names = lookupNames(def);
    const gathered: string[] = [];
    for (let i = this.layers.length - 1; i >= 0; i -= 1) {
      const layer = this.layers[i];
      if (layer === undefined) continue;
      const found = names
        .map(([group, name]) => layer.groups.get(group)?.get(name))
        .filter((v) => v !== undefined);
      const first = found[0];
      if (first === undefined) continue;
      if (first === null) return gathered.length > 0 ? Object.freeze(gathered) : def.default;
      if (def.type !== 'multi') return this.convert(def, first, layer.source);
      if (layer.replaces) {
        const own = this.convert(def, first, layer.source) as readonly string[];
        return Object.freeze([...own, ...gathered]);
      }
      for (const raw of found) {
        if (raw !== null) gathered.unshift(...(this.convert(def, raw, layer.source) as string[]));
      }
    }
    return gathered.length > 0 ? Object.freeze(gathered) : def.default;
  }

  private convert(def: OptionDefinition, raw: unknown, source: string | undefined): unknown {
    const ctx: Context = { group: def.group, name: def.name, secret: def.secret === true };
    let value = raw;
    if (typeof raw === 'string') value = this.substitute(ctx, raw, source);
    else if (Array.isArray(raw)) {
      value = raw.map((item: unknown) =>
        typeof item === 'string' ? this.substitute(ctx, item, source) : item,
      );
    }
    try {
      return convertValue(def, value);
    } catch (err) {
      if (!(err instanceof ValueRejected)) throw err;
      const detail = ctx.secret ? `the value (not shown) is not a valid ${def.type}` : err.message;
      throw invalid(`${def.group}.${def.name}`, ctx.secret, detail, source, raw);
    }
  }

  /**
   * oslo.config's template substitution: `$name` and `${name}` are replaced by the value of
   * option `name` of the same group (else of `[DEFAULT]`), `$group.name` by another group's;
   * `$$` and `\$` are a literal `$`. A reference to nothing is an error, as in oslo.
   */
  private substitute(ctx: Context, text: string, source: string | undefined): string {
    if (!text.includes('$')) return text;
    return text
      .replaceAll('\\$', () => '$$')
      .replace(
        /\$(?:(\$)|([_a-z][._a-z0-9]*)|\{([_a-z][._a-z0-9]*)\})/gi,
        (whole, escaped: string | undefined, named: string | undefined, braced?: string) =>
          escaped !== undefined ? '$' : this.reference(ctx, named ?? braced ?? whole, source),
      );
  }

  private reference(ctx: Context, ref: string, source: string | undefined): string {
    const dot = ref.indexOf('.');
    const candidates: Array<readonly [string, string]> =
      dot >= 0
        ? [
            [normalizeGroup(ref.slice(0, dot)), ref.slice(dot + 1)],
            ['DEFAULT', ref],
          ]
        : [
            [ctx.group, ref],
            ['DEFAULT', ref],
          ];
    for (const [group, name] of candidates) {
      const def = findOwnOption(group, name);
      if (def !== undefined) return pythonStr(this.value(def), def.type === 'float');
      // Options of the service itself (nova's state_path, my_ip...) are known only by
      // their text in the files.
      const raw = this.rawValue(group, name);
      if (typeof raw === 'string') {
        const inner: Context = { group, name, secret: ctx.secret };
        return this.guard(`${group}.${name}`, ctx.secret, () =>
          this.substitute(inner, raw, source),
        );
      }
      if (raw !== undefined && raw !== null) return pythonStr(raw, false);
    }
    const what = ctx.secret ? 'a $ in the value (not shown)' : `$${ref}`;
    throw invalid(
      `${ctx.group}.${ctx.name}`,
      ctx.secret,
      `${what} names no option (write $$ for a literal $)`,
      source,
    );
  }

  private rawValue(group: string, name: string): unknown {
    for (let i = this.layers.length - 1; i >= 0; i -= 1) {
      const value = this.layers[i]?.groups.get(group)?.get(name);
      if (value !== undefined) return Array.isArray(value) ? value.at(-1) : value;
    }
    return undefined;
  }
}

/** Text of a value as Python's `str()` gives it, which is what oslo substitutes. */
function pythonStr(value: unknown, isFloat: boolean): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number')
    return isFloat && Number.isInteger(value) ? `${value}.0` : `${value}`;
  if (Array.isArray(value)) return `[${value.map((v) => `'${pythonStr(v, false)}'`).join(', ')}]`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The error for a bad value; secret values (URLs with passwords) are not repeated. */
export function invalid(
  option: string,
  secret: boolean,
  detail: string,
  source: string | undefined,
  value?: unknown,
): ConfigurationError {
  const message = `Invalid value for option ${option}: ${detail}${where(source)}`;
  return new ConfigurationError(message, secret ? { option } : { option, value });
}
