/**
 * {@link Config}: oslo.messaging's options, read from oslo-style INI files, plain objects and
 * transport URL queries, converted and checked once, then read through typed accessors.
 *
 * @module
 */
import { SECRET_MASK } from '../redact.js';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { ConfigurationError } from '../errors.js';
import { convertValue, ValueRejected } from './convert.js';
import { parseIni } from './ini.js';
import {
  GROUP_SPECS,
  OPTION_TABLE,
  findOption,
  findOwnOption,
  lookupNames,
  normalizeGroup,
} from './options.js';
import { Resolver, invalid, makeLayer, type Layer } from './resolve.js';
import type {
  ConfigGroups,
  ConfigObject,
  DefaultOptions,
  MetricsOptions,
  NotificationOptions,
  OptionInfo,
} from './types.js';

/** Anything {@link Config.from} accepts: a `Config`, or a plain object of oslo options by group. */
export type ConfigInput = Config | ConfigObject;

const MASK = SECRET_MASK;

/**
 * Resolved oslo.messaging configuration. Immutable: every value is converted and checked
 * when the `Config` is made, so a bad value fails there, with a {@link ConfigurationError}
 * that names the option and the value. Durations are in oslo's seconds.
 *
 * Precedence, as in oslo.config: later files override earlier ones, an option's own name
 * overrides its deprecated names within one file, overrides beat files. A multi-valued
 * option (`[oslo_messaging_notifications] driver`) gathers its values from every file, as
 * oslo.config does; overrides replace them.
 *
 * Groups other than oslo.messaging's are kept (their values can be `$referenced`) but not
 * checked; unknown options in `[DEFAULT]` are the service's own and are ignored too.
 */
export class Config {
  readonly #layers: readonly Layer[];
  readonly #groups: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  readonly #notices: readonly string[];

  private constructor(layers: readonly Layer[]) {
    this.#layers = layers;
    this.#notices = Object.freeze([...layers.flatMap((l) => l.warnings), ...inertNotices(layers)]);
    const resolver = new Resolver(layers);
    const groups = new Map<string, Readonly<Record<string, unknown>>>();
    for (const [group, specs] of Object.entries(GROUP_SPECS)) {
      const values = Object.keys(specs).map((name) => {
        const def = findOwnOption(group, name);
        return [name, def === undefined ? undefined : resolver.value(def)] as const;
      });
      groups.set(group, Object.freeze(Object.fromEntries(values)));
    }
    this.#groups = groups;
    Object.freeze(this);
  }

  /**
   * A configuration from a plain object of oslo options by group (values native or text,
   * as in an INI file), or all defaults when nothing is given. A `Config` is returned as is.
   * @throws ConfigurationError for an unknown option of an oslo.messaging group or a bad value
   */
  static from(input?: ConfigInput): Config {
    if (input instanceof Config) return input;
    return new Config([makeLayer(input ?? {}, false)]);
  }

  /**
   * Reads oslo-style INI files (`nova.conf`), later files overriding earlier ones, then
   * applies `overrides` on top.
   * @throws ConfigurationError when a file cannot be read or parsed, or holds a bad value
   */
  static async fromFiles(paths: readonly string[], overrides?: ConfigObject): Promise<Config> {
    const texts = await Promise.all(
      paths.map(async (path) => {
        try {
          return await readFile(path, 'utf8');
        } catch (err) {
          throw readError(path, err);
        }
      }),
    );
    return Config.#fromTexts(paths, texts, overrides);
  }

  /** Like {@link Config.fromFiles}, reading the files synchronously. */
  static fromFilesSync(paths: readonly string[], overrides?: ConfigObject): Config {
    const texts = paths.map((path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        throw readError(path, err);
      }
    });
    return Config.#fromTexts(paths, texts, overrides);
  }

  static #fromTexts(
    paths: readonly string[],
    texts: readonly string[],
    overrides: ConfigObject | undefined,
  ): Config {
    const layers = texts.map((text, i) => {
      const source = paths[i] ?? '<string>';
      return makeLayer(parseIni(text, source), false, source);
    });
    if (overrides !== undefined) layers.push(makeLayer(overrides, true));
    return new Config(layers);
  }

  /**
   * Parses oslo.config INI text into a plain object of strings (a multi-valued option gets
   * an array with one entry per line). See {@link parseIni} for the dialect.
   * @param source - file name for error messages
   * @throws ConfigurationError for a malformed line
   */
  static parseIni(text: string, source?: string): ConfigObject {
    return parseIni(text, source);
  }

  /**
   * A copy with `overrides` applied on top (oslo's `set_override`): an option given here
   * replaces its value from every file, multi-valued options included; `null` restores
   * the default.
   * @throws ConfigurationError as {@link Config.from}
   */
  withOverrides(overrides: ConfigObject): Config {
    return new Config([...this.#layers, makeLayer(overrides, true)]);
  }

  /**
   * The typed value of an option of a group this library knows.
   * @throws ConfigurationError when there is no such option
   */
  get<G extends keyof ConfigGroups, N extends keyof ConfigGroups[G]>(
    group: G,
    name: N,
  ): ConfigGroups[G][N];
  get(group: string, name: string): unknown;
  get(group: string, name: string): unknown {
    const g = normalizeGroup(group);
    const values = this.#groups.get(g);
    if (values === undefined || !Object.hasOwn(values, name)) {
      throw new ConfigurationError(`no such option ${name} in group [${g}]`, {
        option: `${g}.${name}`,
      });
    }
    return values[name];
  }

  /** The `[DEFAULT]` options (transport URL, control exchange, timeouts). */
  defaults(): DefaultOptions {
    return this.#group('DEFAULT');
  }

  /** The `[oslo_messaging_notifications]` options. */
  notifications(): NotificationOptions {
    return this.#group('oslo_messaging_notifications');
  }

  /**
   * The options of a group, as a frozen object by option name. With `query` (a transport
   * URL's query, as a driver reads its own group: `rabbit://h/?heartbeat_timeout_threshold=30`),
   * the query's values are converted to each option's type and override the files.
   * @param group - a group whose options this library knows (`listOpts()`)
   * @throws ConfigurationError for an unknown group, a query key that is no option of
   *   the group, or a bad query value
   */
  group<T extends object = Readonly<Record<string, unknown>>>(
    group: string,
    query?: Readonly<Record<string, string>>,
  ): T {
    const g = normalizeGroup(group);
    const base = this.#groups.get(g);
    if (base === undefined) {
      throw new ConfigurationError(`no such option group [${g}]`, { option: g });
    }
    if (query === undefined || Object.keys(query).length === 0) return base as T;
    const merged: Record<string, unknown> = { ...base };
    // Deprecated spellings first, so that an option's own name wins when both are given.
    const entries = Object.entries(query).sort(
      ([a], [b]) =>
        Number(findOwnOption(g, a) !== undefined) - Number(findOwnOption(g, b) !== undefined),
    );
    for (const [key, text] of entries) {
      const def = findOption(g, key);
      if (def === undefined || def.group !== g) {
        // oslo: NoSuchOptError when the driver is made; other groups' options, such as
        // control_exchange, cannot be set from the URL.
        throw new ConfigurationError(
          `Invalid transport URL query: no such option ${key} in group [${g}]`,
          { option: `${g}.${key}`, value: text },
        );
      }
      try {
        merged[def.name] = convertValue(def, text);
      } catch (err) {
        if (!(err instanceof ValueRejected)) throw err;
        throw invalid(`${g}.${def.name}`, false, err.message, 'the transport URL query', text);
      }
    }
    return Object.freeze(merged) as T;
  }

  /**
   * What a service should be told once about this configuration, as log lines: unknown
   * oslo.messaging options and sections in its files (ignored, as Python ignores them), and
   * options that are set but have no effect in this library, with the reason. Transports
   * log these at warning level the first time a driver is made from this configuration.
   */
  notices(): readonly string[] {
    return this.#notices;
  }

  /** The `[oslo_messaging_metrics]` options. */
  metrics(): MetricsOptions {
    return this.#group('oslo_messaging_metrics');
  }

  /**
   * Every known option's value by group, secret ones (transport URLs) shown as `***`:
   * what `JSON.stringify(config)` gives, safe to log (like oslo's `log_opt_values`).
   */
  toJSON(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [group, values] of this.#groups) {
      out[group] = Object.fromEntries(
        Object.entries(values).map(([name, value]) => {
          const secret = findOwnOption(group, name)?.secret === true;
          return [name, secret && value !== undefined ? MASK : value];
        }),
      );
    }
    return out;
  }

  #group<T>(group: string): T {
    return this.#groups.get(group) as T;
  }
}

/** One notice per option that some layer sets and that has no effect here. */
function inertNotices(layers: readonly Layer[]): string[] {
  const notices: string[] = [];
  for (const def of OPTION_TABLE) {
    if (def.inert === undefined) continue;
    const names = lookupNames(def);
    const setBy = layers.find((layer) =>
      names.some(([group, name]) => layer.groups.get(group)?.get(name) !== undefined),
    );
    if (setBy === undefined) continue;
    const where = setBy.source === undefined ? '' : ` (in ${setBy.source})`;
    notices.push(
      `Option ${def.group}.${def.name} is accepted but has no effect${where}: ${def.inert}`,
    );
  }
  return notices;
}

function readError(path: string, err: unknown): ConfigurationError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ConfigurationError(`Failed to read config file ${path}: ${reason}`, { cause: err });
}

/**
 * The options this library reads, by group, like oslo.messaging's `list_opts()`: names,
 * types, defaults, help, bounds, choices and deprecated names.
 */
export function listOpts(): Array<{ group: string; options: ReadonlyArray<OptionInfo> }> {
  return Object.keys(GROUP_SPECS).map((group) => ({
    group,
    options: OPTION_TABLE.filter((def) => def.group === group).map(({ group: _group, ...info }) =>
      Object.freeze(info),
    ),
  }));
}
