/**
 * `llmpool check-config --probe`: ask each configured provider's models endpoint what it serves
 * (the adapter's own listModels, else its health probe), and compare with the config. Composites
 * and mocks have no upstream and are skipped. Errors are the adapters' own, already redacted.
 */
import { COMPOSITE_TYPES, type Config } from "../config/schema.js";
import { ProviderError } from "../core/errors.js";
import { redact } from "../util/redact.js";
import { adapterFactory } from "./registry.js";

export interface ProbeReport {
  name: string;
  type: string;
  ok: boolean;
  /** One line: what the upstream answered, or why it could not be asked. */
  summary: string;
  /** Models the upstream listed (empty when it has no models endpoint). */
  models: string[];
  /** Configured upstream model names the upstream did not list. */
  missing: string[];
}

export interface ProbeOptions {
  /** Per-provider time limit (default 10 s). */
  timeoutMs?: number;
}

export async function probeProviders(cfg: Config, opts: ProbeOptions = {}): Promise<ProbeReport[]> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const targets = cfg.providers.filter((p) => p.enabled && p.type !== "mock" && !(COMPOSITE_TYPES as readonly string[]).includes(p.type));
  return Promise.all(
    targets.map(async (p): Promise<ProbeReport> => {
      const base = { name: p.name, type: p.type, models: [] as string[], missing: [] as string[] };
      const provider = adapterFactory(p.type)!.create(p, { member: () => { throw new Error("no members"); } });
      const where = p.base_url ? ` at ${new URL(p.base_url).origin}${new URL(p.base_url).pathname}` : "";
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        if (provider.listModels) {
          const models = await provider.listModels(signal);
          const wanted = Array.isArray(p.models) ? p.models : Object.values(p.models);
          const listed = new Set(models);
          const missing = wanted.filter((m) => !m.includes("*") && !listed.has(m));
          const shown = models.slice(0, 8).join(", ") + (models.length > 8 ? `, ... (${models.length - 8} more)` : "");
          const summary =
            `reachable${where}: ${models.length} model(s)${models.length ? `: ${shown}` : ""}` +
            (missing.length ? `; configured but not listed: ${missing.join(", ")}` : "");
          return { ...base, ok: missing.length === 0, summary, models, missing };
        }
        if (provider.probe) {
          await provider.probe(signal);
          return { ...base, ok: true, summary: `reachable${where} (no models endpoint; health probe passed)` };
        }
        return { ...base, ok: true, summary: "nothing to probe for this type" };
      } catch (err) {
        const why = err instanceof ProviderError ? err.describe() : redact((err as Error).message ?? String(err));
        return { ...base, ok: false, summary: `failed${where}: ${why}` };
      } finally {
        await provider.close().catch(() => undefined);
      }
    }),
  );
}
