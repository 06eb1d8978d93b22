/**
 * Target: where a message goes, or what a server listens to.
 *
 * @module
 */
import { InvalidTarget } from './errors.js';

/** The fields of a {@link Target}. Every field is optional; what is required depends on use. */
export interface TargetFields {
  /** Exchange; when unset the transport's `control_exchange` is used. */
  exchange?: string | undefined;
  /** Topic: the queue a server consumes and a client sends to. */
  topic?: string | undefined;
  /** Namespace of an RPC endpoint's methods. */
  namespace?: string | undefined;
  /** Version `X.Y` (or `X.Y.Z`): on a client, the version of calls; on an endpoint, the version it implements. */
  version?: string | undefined;
  /** Server name: a server listens on `topic.server`; a client sends to one server. */
  server?: string | undefined;
  /** Send a cast to every server listening on the topic. */
  fanout?: boolean | undefined;
  /** Further namespaces an endpoint answers to. */
  legacyNamespaces?: readonly (string | null)[] | undefined;
}

/** Overrides for {@link Target.with}: an omitted field is kept, `null` clears it. */
export type TargetOverrides = { [K in keyof TargetFields]?: TargetFields[K] | null };

const KEYS = [
  'exchange',
  'topic',
  'namespace',
  'version',
  'server',
  'fanout',
  'legacyNamespaces',
] as const satisfies readonly (keyof TargetFields)[];

function checkName(field: string, value: unknown, fields: TargetFields): void {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw new InvalidTarget(
      `${field} must be a non-empty string`,
      new Target(Object.assign({}, fields, { [field]: undefined })),
    );
  }
}

/**
 * An immutable description of a destination: exchange, topic, namespace, version,
 * server and fanout. `target.with({ server: 'h7' })` returns a copy.
 *
 * @example
 * ```ts
 * import { Target } from 'oslo-messaging';
 *
 * const target = new Target({ topic: 'compute', version: '5.0' });
 * const one = target.with({ server: 'host7' }); // a copy; target is unchanged
 * const back = one.with({ server: null }); // null clears a field
 * console.log(one.server, target.server, back.server); // host7 undefined undefined
 * ```
 */
export class Target {
  readonly exchange: string | undefined;
  readonly topic: string | undefined;
  readonly namespace: string | undefined;
  readonly version: string | undefined;
  readonly server: string | undefined;
  readonly fanout: boolean | undefined;
  readonly legacyNamespaces: readonly (string | null)[];

  constructor(fields: TargetFields = {}) {
    for (const key of ['exchange', 'topic', 'namespace', 'version', 'server'] as const) {
      checkName(key, fields[key], fields);
    }
    if (fields.fanout !== undefined && typeof fields.fanout !== 'boolean') {
      throw new InvalidTarget(
        'fanout must be a boolean',
        new Target({ ...fields, fanout: undefined }),
      );
    }
    this.exchange = fields.exchange;
    this.topic = fields.topic;
    this.namespace = fields.namespace;
    this.version = fields.version;
    this.server = fields.server;
    this.fanout = fields.fanout;
    this.legacyNamespaces = Object.freeze([...(fields.legacyNamespaces ?? [])]);
    Object.freeze(this);
  }

  /** A copy with some fields replaced; `null` clears a field. */
  with(overrides: TargetOverrides): Target {
    const fields: TargetFields = this.toJSON();
    for (const key of KEYS) {
      if (!(key in overrides)) continue;
      const value = overrides[key];
      (fields as Record<string, unknown>)[key] = value === null ? undefined : value;
    }
    return new Target(fields);
  }

  /** True when every field is equal. */
  equals(other: Target): boolean {
    return (
      KEYS.every((k) => k === 'legacyNamespaces' || this[k] === other[k]) &&
      this.legacyNamespaces.length === other.legacyNamespaces.length &&
      this.legacyNamespaces.every((ns, i) => ns === other.legacyNamespaces[i])
    );
  }

  /** The set fields as a plain object. */
  toJSON(): TargetFields {
    const out: TargetFields = {};
    for (const key of KEYS) {
      const value = this[key];
      if (key === 'legacyNamespaces') {
        if (this.legacyNamespaces.length > 0) out.legacyNamespaces = [...this.legacyNamespaces];
      } else if (value !== undefined) {
        (out as Record<string, unknown>)[key] = value;
      }
    }
    return out;
  }

  /** `<Target topic=compute, server=host7>`, as oslo prints it. */
  toString(): string {
    const parts: string[] = [];
    for (const key of KEYS) {
      if (key === 'legacyNamespaces') continue;
      const value = this[key];
      if (value !== undefined) parts.push(`${key}=${String(value)}`);
    }
    return `<Target ${parts.join(', ')}>`;
  }
}
