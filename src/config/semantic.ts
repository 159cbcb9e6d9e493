/**
 * Checks that need the whole config: each adapter's own requirements, composite members and
 * cycles, models served, the default model.
 */
import type { Config } from "./schema.js";
import { COMPOSITE_TYPES } from "./schema.js";
import type { ConfigProblem } from "./interpolate.js";
import { adapterFactory, typeKeyProblems } from "../providers/registry.js";
import { compositeFactory } from "../pool/composite/index.js";
import { availableStrategies, hasStrategy } from "../balancer/registry.js";
import { upstreamModelFor } from "../pool/router.js";

const isComposite = (type: string) => (COMPOSITE_TYPES as readonly string[]).includes(type);

/** Provider types without an embeddings API (composites route chat only). */
const NO_EMBEDDINGS = new Set<string>(["anthropic", ...COMPOSITE_TYPES]);

export function checkProviders(cfg: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const byName = new Map(cfg.providers.map((p, i) => [p.name, { p, i }]));

  cfg.providers.forEach((p, i) => {
    const at = (key: string) => `providers[${i}]${key ? `.${key}` : ""}`;
    if (isComposite(p.type)) {
      if (!p.members || p.members.length === 0) {
        problems.push({ path: at("members"), message: `required for type ${p.type}` });
      }
      for (const [j, m] of (p.members ?? []).entries()) {
        if (!byName.has(m)) {
          problems.push({ path: at(`members[${j}]`), message: `no provider named ${JSON.stringify(m)}` });
        } else if (m === p.name) {
          problems.push({ path: at(`members[${j}]`), message: "a composite cannot contain itself" });
        }
      }
      if (p.base_url) problems.push({ path: at("base_url"), message: `not used by type ${p.type}` });
      if (p.type === "racing") {
        // The grace window must close before the composite's own timeout (else it never decides).
        const own = p.strategy_options?.racing;
        const racing = own ?? cfg.pool.strategy_options.racing;
        if ((racing.mode === "weighted" || racing.mode === "quality") && racing.grace_period_ms > p.timeout_ms) {
          problems.push({
            path: own ? at("strategy_options.racing.grace_period_ms") : "pool.strategy_options.racing.grace_period_ms",
            message: `${racing.grace_period_ms} is above ${own ? "this" : `racing composite ${p.name}'s`} timeout_ms (${p.timeout_ms})`,
          });
        }
      }
      const composite = compositeFactory(p.type);
      if (!composite) {
        problems.push({ path: at("type"), message: `type ${p.type} is not available in this build` });
      } else {
        for (const prob of [...typeKeyProblems(p), ...composite.validate(p)]) problems.push({ path: at(prob.path), message: prob.message });
      }
      return;
    }
    if (p.members) problems.push({ path: at("members"), message: `only for types ${COMPOSITE_TYPES.join(", ")}` });
    if (p.strategy) problems.push({ path: at("strategy"), message: "only for type loadbalance" });
    if (p.strategy_options) problems.push({ path: at("strategy_options"), message: `only for types ${COMPOSITE_TYPES.join(", ")}` });
    if (p.mock && p.type !== "mock") problems.push({ path: at("mock"), message: "only for type mock" });
    const factory = adapterFactory(p.type);
    if (!factory) {
      problems.push({ path: at("type"), message: `type ${p.type} is not available in this build` });
      return;
    }
    for (const prob of factory.validate(p)) problems.push({ path: at(prob.path), message: prob.message });
    const models = Array.isArray(p.models) ? p.models : Object.keys(p.models);
    const embedding = Array.isArray(p.embedding_models) ? p.embedding_models : Object.keys(p.embedding_models);
    if (models.length === 0 && embedding.length === 0 && !p.discover_models) {
      problems.push({ path: at("models"), message: "list at least one model (or embedding_models), or set discover_models: true" });
    }
    if (embedding.length > 0 && NO_EMBEDDINGS.has(p.type)) {
      problems.push({ path: at("embedding_models"), message: `type ${p.type} offers no embeddings API` });
    }
    const probeModel = p.health_check.model;
    if (probeModel !== undefined && !models.includes(probeModel) && !p.discover_models) {
      problems.push({ path: at("health_check.model"), message: `not one of this provider's models (${models.join(", ")})` });
    }
  });

  // Composite cycles: a -> b -> a.
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, trail: string[]): void => {
    const entry = byName.get(name);
    if (!entry || !isComposite(entry.p.type)) return;
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(name)), name].join(" -> ");
      problems.push({ path: `providers[${entry.i}].members`, message: `cycle: ${cycle}` });
      return;
    }
    state.set(name, "visiting");
    for (const m of entry.p.members ?? []) if (m !== name) visit(m, [...trail, name]);
    state.set(name, "done");
  };
  for (const p of cfg.providers) visit(p.name, []);

  if (!hasStrategy(cfg.pool.strategy)) {
    problems.push({
      path: "pool.strategy",
      message: `strategy ${cfg.pool.strategy} is not available in this build; available: ${availableStrategies().join(", ")}`,
    });
  }

  if (cfg.pool.default_model) {
    const served = cfg.providers.some(
      (p) =>
        upstreamModelFor(
          new Map(Array.isArray(p.models) ? p.models.map((m) => [m, m]) : Object.entries(p.models)),
          cfg.pool.default_model!,
        ) !== undefined,
    );
    const discovering = cfg.providers.some((p) => p.discover_models);
    if (!served && !discovering) {
      problems.push({ path: "pool.default_model", message: `no provider serves ${JSON.stringify(cfg.pool.default_model)}` });
    }
  }
  return problems;
}
