/**
 * Converting option values to their types, with oslo.config's rules for text (what an INI
 * file or a URL query gives) and strict rules for native values: nothing is truncated or
 * clamped, a bad value is an error that names it.
 *
 * @module
 */
import type { OptionInfo } from './types.js';

/** Why a value was refused; the caller adds which option it was. */
export class ValueRejected extends Error {}

// oslo.config's Boolean type accepts exactly these, case-insensitively.
const TRUE_WORDS = new Set(['true', '1', 'on', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'off', 'no']);
const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Quotes a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/**
 * Converts `value` to the type of `opt`.
 * @throws ValueRejected saying what is wrong with the value.
 */
export function convertValue(opt: OptionInfo, value: unknown): unknown {
  switch (opt.type) {
    case 'bool':
      return toBool(value);
    case 'int':
      return checkRange(opt, toInt(value));
    case 'float':
      return checkRange(opt, toFloat(value));
    case 'string':
      return toStr(value);
    case 'enum': {
      const s = toStr(value);
      if (opt.choices !== undefined && !opt.choices.includes(s)) {
        throw new ValueRejected(`${show(s)} is not one of ${opt.choices.join(', ')}`);
      }
      return s;
    }
    case 'list':
      return Object.freeze(toList(value));
    case 'multi':
      // A multi option collects one value per line; a single string is one value (commas
      // are not separators here, unlike a list).
      return Object.freeze(Array.isArray(value) ? value.map(toStr) : [toStr(value)]);
  }
}

function toBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  throw new ValueRejected(`${show(value)} is not a boolean (true/false, yes/no, on/off, 1/0)`);
}

function toInt(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && INT_RE.test(value.trim())) {
    const n = Number(value.trim());
    if (Number.isSafeInteger(n)) return n;
  }
  throw new ValueRejected(`${show(value)} is not an integer`);
}

function toFloat(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && FLOAT_RE.test(value.trim())) {
    const n = Number(value.trim());
    if (Number.isFinite(n)) return n;
  }
  throw new ValueRejected(`${show(value)} is not a number`);
}

function toStr(value: unknown): string {
  if (typeof value === 'string') return value;
  throw new ValueRejected(`${show(value)} is not a string`);
}

/**
 * oslo.config's List of strings: surrounding blanks and trailing commas go, the rest is
 * split on `,` and every item trimmed (an empty item stays, as in oslo).
 */
function toList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(toStr);
  const text = toStr(value).trim().replace(/,+$/, '');
  return text === '' ? [] : text.split(',').map((item) => item.trim());
}

function checkRange(opt: OptionInfo, n: number): number {
  if (opt.min !== undefined && n < opt.min) {
    throw new ValueRejected(`${n} is less than the minimum ${opt.min}`);
  }
  if (opt.max !== undefined && n > opt.max) {
    throw new ValueRejected(`${n} is greater than the maximum ${opt.max}`);
  }
  return n;
}
