/**
 * Per-provider environment variables for the embedded default (README "Configuration"):
 * `<PROVIDER>_BASE_URL`, `_ENABLED`, `_PRIORITY`, `_TIMEOUT` (seconds) and
 * `_MAX_CONCURRENT_REQUESTS`, where PROVIDER is the provider's name upper-cased with every
 * other character as `_` (OPENAI_BASE_URL, GROQ_ENABLED=false, OLLAMA_PRIORITY=2). A value
 * that does not parse is an error naming the variable, so a typo never passes silently.
 */
import { ConfigError } from "./load.js";
import type { ConfigProblem } from "./interpolate.js";

type RawProvider = Record<string, unknown>;

/** The variable prefix of a provider name: "mock-fast" -> "MOCK_FAST". */
export function envPrefix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

const BOOLEANS: Record<string, boolean> = { true: true, "1": true, yes: true, on: true, false: false, "0": false, no: false, off: false };

/**
 * Apply the variables to each provider in place. `_BASE_URL` is skipped for a provider that
 * already has a base URL from its own variables (OLLAMA_BASE_URL lists servers, for example).
 */
export function applyProviderEnv(providers: RawProvider[], env: NodeJS.ProcessEnv): void {
  const problems: ConfigProblem[] = [];
  for (const p of providers) {
    const pre = envPrefix(String(p.name));
    const get = (suffix: string) => {
      const v = env[`${pre}_${suffix}`]?.trim();
      return v === undefined || v === "" ? undefined : v;
    };
    const url = get("BASE_URL");
    if (url !== undefined && p.base_url === undefined) p.base_url = url;
    const enabled = get("ENABLED");
    if (enabled !== undefined) {
      const b = BOOLEANS[enabled.toLowerCase()];
      if (b === undefined) problems.push({ path: `${pre}_ENABLED`, message: `expected true or false (got ${JSON.stringify(enabled)})` });
      else p.enabled = b;
    }
    const priority = get("PRIORITY");
    if (priority !== undefined) {
      if (!/^-?\d+$/.test(priority)) problems.push({ path: `${pre}_PRIORITY`, message: `expected an integer (got ${JSON.stringify(priority)})` });
      else p.priority = Number(priority);
    }
    const timeout = get("TIMEOUT");
    if (timeout !== undefined) {
      const s = Number(timeout);
      if (!/^\d+(\.\d+)?$/.test(timeout) || s <= 0) {
        problems.push({ path: `${pre}_TIMEOUT`, message: `expected seconds > 0, e.g. 30 or 2.5 (got ${JSON.stringify(timeout)})` });
      } else p.timeout_ms = Math.max(1, Math.round(s * 1000));
    }
    const conc = get("MAX_CONCURRENT_REQUESTS");
    if (conc !== undefined) {
      if (!/^\d+$/.test(conc)) {
        problems.push({ path: `${pre}_MAX_CONCURRENT_REQUESTS`, message: `expected an integer >= 0, 0 = unlimited (got ${JSON.stringify(conc)})` });
      } else p.max_concurrency = Number(conc);
    }
  }
  if (problems.length > 0) throw new ConfigError("environment (embedded default)", problems);
}
