/**
 * Body compression as kombu does it (`kombu_compression`, spec §7).
 *
 * kombu's `gzip` is a trap: it registers **zlib** (`zlib.compress`, RFC 1950, bytes
 * `78 9c ...`) under the content type `application/x-gzip` with the aliases `gzip` and
 * `zlib`. So we deflate with a zlib header, and, being liberal in what we accept,
 * also inflate a real gzip stream (`1f 8b`) that carries the same header.
 *
 * `bz2` is refused: Node has no bzip2 codec and no maintained, typed bzip2 library
 * that compresses exists on npm (`seek-bzip`, `unbzip2-stream` only decompress and
 * ship no types), so a transport configured with it fails at construction with
 * `ConfigurationError` rather than send bodies a Python peer can't read.
 *
 * @module
 */
import {
  brotliCompressSync,
  brotliDecompressSync,
  deflateSync,
  gunzipSync,
  inflateSync,
} from 'node:zlib';

import { ConfigurationError, MalformedMessage } from '../../errors.js';

/** A compression method we can send with. */
export interface Compression {
  /** The value of the `compression` header. */
  readonly contentType: string;
  compress(body: Buffer): Buffer;
}

const ZLIB: Compression = {
  contentType: 'application/x-gzip',
  // Level 6 is zlib's default, as Python's zlib.compress() uses.
  compress: (body) => deflateSync(body, { level: 6 }),
};

const BROTLI: Compression = {
  contentType: 'application/x-brotli',
  compress: (body) => brotliCompressSync(body),
};

/**
 * The compression for a `kombu_compression` value (kombu's names and aliases), or
 * `undefined` when unset or empty.
 *
 * @throws ConfigurationError for bz2 and any method we can't produce
 */
export function compressionFor(name: string | undefined): Compression | undefined {
  if (name === undefined || name === '') return undefined;
  switch (name.toLowerCase()) {
    case 'gzip':
    case 'zlib':
    case 'application/x-gzip':
      return ZLIB;
    case 'brotli':
    case 'application/x-brotli':
      // kombu offers it only where the Python `brotli` module is installed.
      return BROTLI;
    default:
      throw new ConfigurationError(
        `kombu_compression=${name} is not supported: use gzip (or leave it unset); ` +
          'bz2, lzma and zstd have no codec here',
        { option: 'oslo_messaging_rabbit.kombu_compression', value: name },
      );
  }
}

/**
 * Decompress a body whose `compression` header is `contentType`, producing at most
 * `maxBytes` (a small compressed body must not expand into gigabytes).
 *
 * @throws MalformedMessage for an unknown method, a corrupt stream or a body over the limit
 */
export function decompress(body: Buffer, contentType: string, maxBytes: number): Buffer {
  try {
    switch (contentType) {
      case 'application/x-gzip': {
        const gzip = body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
        return gzip
          ? gunzipSync(body, { maxOutputLength: maxBytes })
          : inflateSync(body, { maxOutputLength: maxBytes });
      }
      case 'application/x-brotli':
        return brotliDecompressSync(body, { maxOutputLength: maxBytes });
      default:
        throw new MalformedMessage(`unsupported compression ${JSON.stringify(contentType)}`);
    }
  } catch (err) {
    if (err instanceof MalformedMessage) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new MalformedMessage(`decompressed body exceeds ${maxBytes} bytes`, { cause: err });
    }
    throw new MalformedMessage(`cannot decompress ${contentType} body: ${String(err)}`, {
      cause: err,
    });
  }
}
