/**
 * The memory backend: one process, nothing shared. Limits stay in each provider's limiter
 * (src/limits/limiter.ts) and spend in the cost tracker's book (src/cost/spend.ts), which is
 * exactly how llmpool behaves with `state.backend: memory` (the default): the pool never
 * awaits a reservation, and no operation here is on a request's path.
 */
import { createMemoryCounters } from "./counters.js";
import type { StateBackend } from "./state.js";

export function createMemoryState(): StateBackend {
  return {
    kind: "memory",
    shared: false,
    up: true,
    counters: createMemoryCounters(),
    onAvailability() {},
    reserve: async () => ({ ok: true, lease: "" }),
    settle: async () => {},
    snapshot: async () => undefined,
    windows: async () => undefined,
    close: async () => {},
  };
}
