/**
 * undici's Pool, its `request` and its error classes, loaded from their own modules. undici's
 * index also loads fetch, WebSocket, EventSource, the cache and mock dispatchers: ~90 more
 * modules that cost ~5 MB of resident memory in every process and are never used here
 * (bench/RESULTS.md "Fifth pass"). The index also copies the api functions onto
 * Dispatcher.prototype; without it `request` is called with the pool as `this`, which is what
 * that method is. The classes are the ones the index exports (it re-exports these files), so
 * `instanceof` holds for errors from any undici entry point. The types come from the index.
 */
import { createRequire } from "node:module";
import type { Dispatcher, Pool as UndiciPool, errors as UndiciErrors } from "undici";

const require = createRequire(import.meta.url);

export const Pool: typeof UndiciPool = require("undici/lib/dispatcher/pool.js");
export type Pool = UndiciPool;
export const undiciErrors: typeof UndiciErrors = require("undici/lib/core/errors.js");
/** undici's `Dispatcher#request`: call it as `request.call(pool, options)`. */
export const request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData> = require("undici/lib/api/api-request.js");
