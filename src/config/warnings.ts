/**
 * Things that validate but are probably not what was meant: check-config prints them, serve
 * logs them at warn. They never stop a config from loading.
 */
import type { ConfigProblem } from "./interpolate.js";
import type { Config } from "./schema.js";

/** Types that speak the OpenAI API, whose routes live under a versioned prefix such as /v1. */
const OPENAI_STYLE = new Set(["openai", "groq", "together", "openrouter", "lmstudio", "vllm"]);

export function configWarnings(cfg: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  cfg.providers.forEach((p, i) => {
    if (!p.base_url || !OPENAI_STYLE.has(p.type)) return;
    const path = new URL(p.base_url).pathname.replace(/\/+$/, "");
    if (!/\/v\d+[a-z]*$/i.test(path)) {
      out.push({
        path: `providers[${i}].base_url`,
        message: `${p.base_url} does not end in /v1: type ${p.type} sends /chat/completions under it, so it is likely ${p.base_url.replace(/\/+$/, "")}/v1 (check with check-config --probe)`,
      });
    }
  });
  return out;
}
