/**
 * RPC version strings (`X.Y` or `X.Y.Z`) and oslo's compatibility rule (spec §4.7), used by
 * the server to pick an endpoint, by the client's version cap, and for the envelope version.
 *
 * @module
 */
import { InvalidRPCVersion } from './errors.js';

/** A parsed RPC version. `revision` is 0 when the string has only two parts. */
export interface RPCVersion {
  readonly major: number;
  readonly minor: number;
  readonly revision: number;
}

const VERSION_PATTERN = /^(\d+)\.(\d+)(?:\.(\d+))?$/;

/**
 * Parse `X.Y` or `X.Y.Z` (non-negative integers).
 *
 * @throws InvalidRPCVersion for anything else, e.g. `1`, `1.a`, `1.2.3.4` or a non-string.
 */
export function parseVersion(version: string): RPCVersion {
  const match = typeof version === 'string' ? VERSION_PATTERN.exec(version) : null;
  if (match === null) {
    throw new InvalidRPCVersion(
      `Invalid RPC version ${JSON.stringify(version)}: expected "X.Y" or "X.Y.Z" with integer parts`,
    );
  }
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    revision: match[3] === undefined ? 0 : Number(match[3]),
  };
}

/**
 * oslo's `version_is_compatible(implemented, requested)`: can an endpoint implementing
 * `implemented` serve a request for `requested`? The majors must be equal, the requested
 * minor must not be above the implemented one, and when the minors are equal the requested
 * revision must not be above the implemented one. An `undefined` (or `null`) implemented
 * version accepts anything.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { versionIsCompatible } from 'oslo-messaging';
 *
 * assert.equal(versionIsCompatible('1.3', '1.2'), true);
 * assert.equal(versionIsCompatible('1.3', '1.4'), false);
 * assert.equal(versionIsCompatible('1.3', '2.0'), false);
 * assert.equal(versionIsCompatible('1.3.1', '1.3.2'), false);
 * ```
 * @throws InvalidRPCVersion when either version is not `X.Y[.Z]`.
 */
export function isCompatible(implemented: string | null | undefined, requested: string): boolean {
  if (implemented === undefined || implemented === null) return true;
  const imp = parseVersion(implemented);
  const req = parseVersion(requested);
  if (req.major !== imp.major) return false;
  if (req.minor > imp.minor) return false;
  if (req.minor === imp.minor && req.revision > imp.revision) return false;
  return true;
}

/**
 * The client-side version cap check (`RPCClient.can_send_version` and the check before
 * every send): no cap allows everything; with a cap, a message without a version is
 * refused (as oslo does), otherwise the version must be compatible with the cap.
 *
 * @throws InvalidRPCVersion when `cap` or `version` is not `X.Y[.Z]`.
 */
export function versionCapAllows(
  cap: string | null | undefined,
  version: string | null | undefined,
): boolean {
  if (cap === undefined || cap === null) return true;
  if (version === undefined || version === null) return false;
  return isCompatible(cap, version);
}
