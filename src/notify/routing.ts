/**
 * The `routing` notify driver: hands each notification to other notify drivers chosen
 * by its event type and priority, from oslo's routing configuration file.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';

import type { RequestContext, NotificationMessage } from '../wire/messages.js';
import { ConfigurationError } from '../errors.js';
import type { NotifyBounds, NotifyDriver, NotifyDriverContext } from './notify-drivers.js';
import { PythonRegExp } from '../wire/python-re.js';

/** When a routing group sends a notification to one driver. Keys keep oslo's spelling. */
export interface RoutingRule {
  /**
   * Shell-style patterns (Python `fnmatch`: `*`, `?`, `[seq]`, `[!seq]`, matched against
   * the whole event type, case-sensitively). One must match.
   */
  readonly accepted_events?: readonly string[] | undefined;
  /** Shell-style patterns on the lower-case priority (`info`, `warn`, ...). One must match. */
  readonly accepted_priorities?: readonly string[] | undefined;
}

/**
 * The routing configuration, as in oslo's YAML file: groups of `{driver name: rule}`.
 *
 * Within a rule, `accepted_events` and `accepted_priorities` must both match when both are
 * given (AND); a rule with neither accepts everything. A driver is used when any rule
 * for it, in any group, accepts the notification (OR), and is called once even if
 * several accept it. Names other than the notify drivers (and `routing` itself) are
 * ignored with a warning.
 *
 * @example
 * ```yaml
 * group_1:
 *   messagingv2:
 *     accepted_priorities: ['info', 'warn', 'error']
 *   log:
 *     accepted_events: ['compute.instance.exists']
 * group_2:
 *   messagingv2:
 *     accepted_events: ['compute.scheduler.run_instance.*']
 * ```
 */
export type RoutingConfig = Readonly<Record<string, Readonly<Record<string, RoutingRule>>>>;

const OPTION = 'oslo_messaging_notifications.routing_config';

const RE_SPECIAL = new Set('()[]{}?*+-|^$\\.&~# \t\n\r\v\f');
const STAR = Symbol('*');

/**
 * Python's `fnmatch.translate` (3.11): a shell pattern as a Python regular expression that
 * matches the whole string, e.g. `(?s:compute\..*)\Z`.
 */
export function fnmatchTranslate(pat: string): string {
  const res: (string | typeof STAR)[] = [];
  let i = 0;
  const n = pat.length;
  while (i < n) {
    const c = pat.charAt(i);
    i += 1;
    if (c === '*') {
      if (res.length === 0 || res[res.length - 1] !== STAR) res.push(STAR);
    } else if (c === '?') {
      res.push('.');
    } else if (c === '[') {
      let j = i;
      if (j < n && pat.charAt(j) === '!') j += 1;
      if (j < n && pat.charAt(j) === ']') j += 1;
      while (j < n && pat.charAt(j) !== ']') j += 1;
      if (j >= n) {
        res.push('\\[');
        continue;
      }
      let stuff: string;
      if (!pat.slice(i, j).includes('-')) {
        stuff = pat.slice(i, j).replace(/\\/g, '\\\\');
      } else {
        const chunks: string[] = [];
        let k = pat.charAt(i) === '!' ? i + 2 : i + 1;
        for (;;) {
          k = pat.indexOf('-', k);
          if (k < 0 || k >= j) break;
          chunks.push(pat.slice(i, k));
          i = k + 1;
          k = k + 3;
        }
        const chunk = pat.slice(i, j);
        if (chunk !== '') chunks.push(chunk);
        else chunks[chunks.length - 1] += '-';
        // Remove empty ranges (invalid in re).
        for (let m = chunks.length - 1; m > 0; m--) {
          const prev = chunks[m - 1]!;
          if (prev.charAt(prev.length - 1) > chunks[m]!.charAt(0)) {
            chunks[m - 1] = prev.slice(0, -1) + chunks[m]!.slice(1);
            chunks.splice(m, 1);
          }
        }
        stuff = chunks.map((x) => x.replace(/\\/g, '\\\\').replace(/-/g, '\\-')).join('-');
      }
      stuff = stuff.replace(/([&~|])/g, '\\$1');
      i = j + 1;
      if (stuff === '') res.push('(?!)');
      else if (stuff === '!') res.push('.');
      else {
        if (stuff.startsWith('!')) stuff = '^' + stuff.slice(1);
        else if (stuff.startsWith('^') || stuff.startsWith('[')) stuff = '\\' + stuff;
        res.push(`[${stuff}]`);
      }
    } else {
      res.push(RE_SPECIAL.has(c) ? '\\' + c : c);
    }
  }
  // Stars: `.*` at the end, an atomic `(?>.*?fixed)` between fixed parts.
  let out = '';
  let k = 0;
  while (k < res.length && res[k] !== STAR) out += res[k++] as string;
  while (k < res.length) {
    k += 1;
    if (k === res.length) {
      out += '.*';
      break;
    }
    let fixed = '';
    while (k < res.length && res[k] !== STAR) fixed += res[k++] as string;
    out += k === res.length ? `.*${fixed}` : `(?>.*?${fixed})`;
  }
  return `(?s:${out})\\Z`;
}

/** A compiled shell pattern: `test()` is Python's `fnmatch.fnmatchcase`. */
export interface ShellPattern {
  test(value: string): boolean;
}

/** Python's `fnmatch` for one pattern, with Python's regex semantics. */
export function fnmatchToRegExp(pattern: string): ShellPattern {
  const re = new PythonRegExp(fnmatchTranslate(pattern));
  return { test: (value) => re.match(value) };
}

interface CompiledRule {
  readonly events: readonly ShellPattern[] | undefined;
  readonly priorities: readonly ShellPattern[] | undefined;
}

function compilePatterns(
  value: unknown,
  where: string,
  lower: boolean,
): ShellPattern[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string')) {
    throw new ConfigurationError(`routing config ${where} must be a list of strings`, {
      option: OPTION,
      value,
    });
  }
  return value.map((p: string) => fnmatchToRegExp(lower ? p.toLowerCase() : p));
}

/** Check the shape of a routing configuration and compile its patterns. */
function compileConfig(config: unknown): Array<Map<string, CompiledRule>> {
  if (config === null || config === undefined) return [];
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigurationError('routing config must be a mapping of groups', {
      option: OPTION,
      value: config,
    });
  }
  const groups: Array<Map<string, CompiledRule>> = [];
  for (const [groupName, group] of Object.entries(config)) {
    if (typeof group !== 'object' || group === null || Array.isArray(group)) {
      throw new ConfigurationError(`routing config ${groupName} must be a mapping of drivers`, {
        option: OPTION,
        value: group,
      });
    }
    const rules = new Map<string, CompiledRule>();
    for (const [driver, rule] of Object.entries(group as Record<string, unknown>)) {
      const where = `${groupName}.${driver}`;
      if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
        throw new ConfigurationError(
          `routing config ${where} must be a mapping with accepted_events and/or accepted_priorities`,
          { option: OPTION, value: rule },
        );
      }
      const r = rule as Record<string, unknown>;
      rules.set(driver, {
        events: compilePatterns(r['accepted_events'], `${where}.accepted_events`, false),
        priorities: compilePatterns(r['accepted_priorities'], `${where}.accepted_priorities`, true),
      });
    }
    groups.push(rules);
  }
  return groups;
}

function accepts(rule: CompiledRule, eventType: string, priority: string): boolean {
  if (rule.events !== undefined && !rule.events.some((re) => re.test(eventType))) return false;
  if (rule.priorities !== undefined && !rule.priorities.some((re) => re.test(priority))) {
    return false;
  }
  return true;
}

/** The driver names of every group whose rules accept the notification, in config order. */
function chooseDrivers(
  groups: ReadonlyArray<ReadonlyMap<string, CompiledRule>>,
  eventType: string,
  priority: string,
): string[] {
  const chosen = new Set<string>();
  const lower = priority.toLowerCase();
  for (const group of groups) {
    for (const [driver, rule] of group) if (accepts(rule, eventType, lower)) chosen.add(driver);
  }
  return [...chosen];
}

/**
 * The driver names a routing configuration sends a notification to (oslo's
 * `_get_drivers_for_message`, over every group).
 *
 * @throws ConfigurationError for a malformed configuration
 * @internal
 */
export function routeNotification(config: unknown, eventType: string, priority: string): string[] {
  return chooseDrivers(compileConfig(config), eventType, priority);
}

/** Read and parse a routing configuration file (YAML; JSON is YAML too). */
async function readRoutingFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigurationError(`Cannot read routing config file ${path}: ${String(err)}`, {
      option: OPTION,
      value: path,
      cause: err,
    });
  }
  // Loaded only when a routing driver is used, so the package's import stays light.
  const yaml = await import('yaml');
  try {
    return yaml.parse(text) as unknown;
  } catch (err) {
    throw new ConfigurationError(`Cannot parse routing config file ${path}: ${String(err)}`, {
      option: OPTION,
      value: path,
      cause: err,
    });
  }
}

interface Routes {
  readonly groups: Array<Map<string, CompiledRule>>;
  readonly drivers: ReadonlyMap<string, NotifyDriver>;
}

/**
 * oslo's `RoutingDriver`. The configuration is read on the first notification (as oslo
 * does); if that fails, the error is logged by the notifier and the next notification
 * tries again.
 *
 * @internal
 */
export class RoutingDriver implements NotifyDriver {
  readonly name = 'routing' as const;
  readonly #context: NotifyDriverContext;
  readonly #create: (name: string) => NotifyDriver;
  #routes: Promise<Routes> | undefined;

  constructor(context: NotifyDriverContext, create: (name: string) => NotifyDriver) {
    this.#context = context;
    this.#create = create;
  }

  async notify(
    ctxt: RequestContext,
    message: NotificationMessage,
    priority: string,
    retry: number,
    bounds?: NotifyBounds,
  ): Promise<void> {
    const routes = await this.#load();
    const eventType = String(message.event_type);
    const { logger } = this.#context;
    for (const name of chooseDrivers(routes.groups, eventType, priority)) {
      const driver = routes.drivers.get(name);
      if (driver === undefined) continue;
      logger.info("Routing '%s' notification to '%s' driver", eventType, name);
      try {
        await driver.notify(ctxt, message, priority, retry, bounds);
      } catch (err) {
        if (bounds?.signal?.aborted === true) throw err;
        logger.error("Routing '%s' notification to '%s' failed: %s", eventType, name, err);
      }
    }
  }

  #load(): Promise<Routes> {
    this.#routes ??= this.#read().catch((err: unknown) => {
      this.#routes = undefined;
      throw err;
    });
    return this.#routes;
  }

  async #read(): Promise<Routes> {
    const source = this.#context.routingConfig;
    const raw =
      source === undefined || source === ''
        ? undefined
        : typeof source === 'string'
          ? await readRoutingFile(source)
          : source;
    const groups = compileConfig(raw);
    const drivers = new Map<string, NotifyDriver>();
    const names = new Set(groups.flatMap((group) => [...group.keys()]));
    // `routing` is never loaded as its own target (oslo skips it to avoid a loop).
    names.delete('routing');
    for (const name of names) {
      try {
        drivers.set(name, this.#create(name));
      } catch {
        this.#context.logger.warn(
          'Routing config names an unknown notification driver "%s"; it is ignored',
          name,
        );
      }
    }
    if (groups.length === 0) {
      this.#context.logger.debug('Routing notifier has no routing config: nothing is routed');
    }
    return { groups, drivers };
  }
}
