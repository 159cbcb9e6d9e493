/**
 * Config served over HTTP(S) (`--config-url`, LLMPOOL_CONFIG_URL), for fleets that keep one
 * config centrally: fetched with undici, parsed like a file (YAML or JSON), and checked by the
 * checksum of its body, so an unchanged config costs one request and no parsing. A config may
 * be pinned to an expected SHA-256 (`--config-sha256`, LLMPOOL_CONFIG_SHA256): a body with
 * another checksum is refused, at start and on every poll.
 */
import { createHash } from "node:crypto";
import { ConfigError } from "./load.js";

/** Largest config body accepted. */
const MAX_BYTES = 4 * 1024 * 1024;

/** The URL as it may appear in logs and errors: no credentials, no query string. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

export function checksum(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** GET the config text; any failure is a ConfigError naming the URL (without secrets). */
export async function fetchConfigText(url: string, timeoutMs = 10_000): Promise<string> {
  const where = safeUrl(url);
  let res;
  try {
    // undici's index (global dispatcher, fetch and all) loads only for a config served over HTTP.
    const { request } = await import("undici");
    res = await request(url, {
      method: "GET",
      headers: { accept: "application/yaml, application/json, text/plain" },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as { code?: string; message?: string; name?: string };
    throw new ConfigError(where, [{ path: "(url)", message: `cannot fetch: ${e.code ?? e.name ?? ""} ${e.message ?? ""}`.trim() }]);
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new ConfigError(where, [{ path: "(url)", message: `cannot fetch: HTTP ${res.statusCode}` }]);
  }
  const length = Number(res.headers["content-length"] ?? 0);
  if (length > MAX_BYTES) {
    await res.body.dump();
    throw new ConfigError(where, [{ path: "(url)", message: `config larger than ${MAX_BYTES} bytes` }]);
  }
  const text = await res.body.text();
  if (text.length > MAX_BYTES) throw new ConfigError(where, [{ path: "(url)", message: `config larger than ${MAX_BYTES} bytes` }]);
  return text;
}

/** A `--config-sha256` value, lower-cased; a ConfigError naming where it came from when malformed. */
export function parseSha256(value: string, from: string): string {
  const v = value.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(v)) {
    throw new ConfigError(from, [{ path: "(flags)", message: `expected a SHA-256 checksum: 64 hex digits (got ${value.length} characters)` }]);
  }
  return v;
}

/** Refuse `text` unless its SHA-256 is `expected` (when one is pinned); the error names both. */
export function checkPinned(text: string, url: string, expected: string | undefined): void {
  if (!expected) return;
  const actual = checksum(text);
  if (actual !== expected) {
    throw new ConfigError(safeUrl(url), [
      { path: "(url)", message: `checksum mismatch: expected sha256 ${expected} (--config-sha256), got ${actual}; config refused` },
    ]);
  }
}
