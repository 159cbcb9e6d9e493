/**
 * Config served over HTTP(S) (`--config-url`, LLMPOOL_CONFIG_URL), for fleets that keep one
 * config centrally: fetched with undici, parsed like a file (YAML or JSON), and checked by the
 * checksum of its body, so an unchanged config costs one request and no parsing.
 */
import { createHash } from "node:crypto";
import { request } from "undici";
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
