/**
 * Where the config comes from (README.md, "Configuration"), flag > environment > file > default:
 * `--config FILE`, else the file named by LLMPOOL_CONFIG, else ./llmpool.yaml (or .yml, .json)
 * if it exists, else the embedded default.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defaultRawConfig } from "./defaults.js";
import { ConfigError, parseConfigText, validateConfig, type LoadedConfig } from "./load.js";
import { applyOverrides, type Overrides } from "./overrides.js";
import { loadConfigText, type ConfigSource } from "./reload.js";
import { checkPinned, fetchConfigText, parseSha256, safeUrl } from "./remote.js";

export const EMBEDDED = "embedded default";

export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): string | undefined {
  if (explicit) return resolve(cwd, explicit);
  if (env.LLMPOOL_CONFIG) return resolve(cwd, env.LLMPOOL_CONFIG);
  for (const name of ["llmpool.yaml", "llmpool.yml", "llmpool.json"]) {
    const p = resolve(cwd, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Raw (unvalidated) config tree from a file. */
export function readRawConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, [{ path: "(file)", message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` }]);
  }
  const raw = parseConfigText(text, path);
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(path, [{ path: "(root)", message: "expected a mapping of settings" }]);
  }
  return raw as Record<string, unknown>;
}

/**
 * Where the config comes from, for hot reload: `--config-url` (or LLMPOOL_CONFIG_URL), else the
 * config file found as above; undefined for the embedded default.
 */
export function findConfigSource(
  opts: { config?: string; configUrl?: string; configSha256?: string; env?: NodeJS.ProcessEnv; cwd?: string },
): ConfigSource | undefined {
  const env = opts.env ?? process.env;
  const url = opts.configUrl || (opts.config ? undefined : env.LLMPOOL_CONFIG_URL);
  const pin = opts.configSha256 ?? env.LLMPOOL_CONFIG_SHA256;
  const pinFrom = opts.configSha256 !== undefined ? "--config-sha256" : "LLMPOOL_CONFIG_SHA256";
  if (url) {
    if (opts.config) throw new ConfigError("--config-url", [{ path: "(flags)", message: "give either --config or --config-url, not both" }]);
    if (!/^https?:\/\//.test(url)) throw new ConfigError(safeUrl(url), [{ path: "(url)", message: "expected an http:// or https:// URL" }]);
    return pin ? { kind: "url", url, sha256: parseSha256(pin, pinFrom) } : { kind: "url", url };
  }
  if (pin) throw new ConfigError(pinFrom, [{ path: "(flags)", message: "only with --config-url (or LLMPOOL_CONFIG_URL)" }]);
  const file = findConfigFile(opts.config, env, opts.cwd);
  return file ? { kind: "file", path: file } : undefined;
}

export async function loadEffectiveConfig(
  opts: { config?: string; configUrl?: string; configSha256?: string; overrides?: Overrides; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const source = findConfigSource(opts);
  if (source?.kind === "url") {
    const text = await fetchConfigText(source.url);
    checkPinned(text, source.url, source.sha256);
    return loadConfigText(text, safeUrl(source.url), opts.overrides ?? {}, env);
  }
  const file = source?.path;
  const raw = file ? readRawConfig(file) : await defaultRawConfig(env);
  return validateConfig(applyOverrides(raw, opts.overrides ?? {}, env), file ?? EMBEDDED, env);
}
