/**
 * Configuration entry point; the implementation lives in `./config/`.
 *
 * @module
 */
export * from './config/index.js';
