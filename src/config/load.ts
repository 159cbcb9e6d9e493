/**
 * Loading a config: read (YAML or JSON), interpolate `${VAR}`s, validate. Every problem is
 * reported with its path; a config with problems is never half-applied.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { configSchema, type Config } from "./schema.js";
import { formatPath, interpolateEnv, type ConfigProblem } from "./interpolate.js";
import { checkProviders } from "./semantic.js";
import { allowedKeys, suggestKey } from "./suggest.js";
import { registerHeaderSecrets, registerSecret, registerUrlSecrets } from "../util/redact.js";
import { checkKeys } from "./keys.js";
import { redisPassword } from "./state-schema.js";

export type { ConfigProblem } from "./interpolate.js";

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `invalid config ${source}:\n` + problems.map((p) => `  ${p.path}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export interface LoadedConfig {
  config: Config;
  /** Short checksum of the effective config: the config version shown in stats. */
  version: string;
  /** Where it came from: a file path, a URL, or "embedded default". */
  source: string;
}

/** Parse config text (YAML, of which JSON is a subset). */
export function parseConfigText(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "(syntax)",
        message: e.message.split("\n")[0]!,
      })),
    );
  }
  return doc.toJS();
}

/** Duplicate provider names, checked on the raw tree so they are reported with any other problem. */
function duplicateNames(raw: unknown): ConfigProblem[] {
  const providers = (raw as { providers?: unknown }).providers;
  if (!Array.isArray(providers)) return [];
  const seen = new Map<string, number>();
  const out: ConfigProblem[] = [];
  providers.forEach((p, i) => {
    const name = (p as { name?: unknown })?.name;
    if (typeof name !== "string") return;
    const prev = seen.get(name);
    if (prev === undefined) seen.set(name, i);
    else out.push({ path: `providers[${i}].name`, message: `duplicate provider name ${JSON.stringify(name)} (also providers[${prev}])` });
  });
  return out;
}

/** Validate a parsed (raw) config tree. Throws ConfigError listing every problem. */
export function validateConfig(
  raw: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  if (raw === null || raw === undefined || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: "(root)", message: "expected a mapping of settings" }]);
  }
  const problems: ConfigProblem[] = [];
  const interpolated = interpolateEnv(raw, env, problems);
  problems.push(...duplicateNames(interpolated));
  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          const hint = suggestKey(key, allowedKeys(configSchema, issue.path));
          problems.push({ path: formatPath([...issue.path, key]), message: hint ? `unknown key; did you mean \`${hint}\`?` : "unknown key" });
        }
      } else {
        problems.push({ path: formatPath(issue.path), message: issue.message });
      }
    }
  } else {
    problems.push(...checkProviders(parsed.data), ...checkKeys(parsed.data));
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(source, problems);
  const config = parsed.data;
  registerConfigSecrets(config);
  // The Redis password never shows in errors or logs, even in an ioredis message.
  if (config.state.url) registerSecret(redisPassword(config.state.url));
  for (const v of Object.values(config.telemetry.tracing.headers)) registerSecret(v);
  if (config.cost.ledger.url && URL.canParse(config.cost.ledger.url)) registerSecret(decodeURIComponent(new URL(config.cost.ledger.url).password));
  const version = createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 12);
  return { config, version, source };
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, [
      { path: "(file)", message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}` },
    ]);
  }
  return validateConfig(parseConfigText(text, path), path, env);
}

/** Every secret the config holds, so redact() hides it wherever it appears. */
function registerConfigSecrets(config: Config): void {
  for (const p of config.providers) {
    registerSecret(p.api_key);
    registerSecret(p.aws_secret_access_key);
    registerSecret(p.aws_session_token);
    registerHeaderSecrets(p.headers);
    registerUrlSecrets(p.base_url);
  }
  for (const k of config.server.auth.api_keys) registerSecret(k);
  for (const k of config.server.auth.keys) registerSecret(k.key);
}
