/**
 * What a caller's key decides about its call (README "Security", virtual keys): the tenant
 * (a bound key overrides `metadata.tenant`, so spend cannot be moved to another tenant), the
 * default priority, the models it may call (PERMISSION_DENIED naming the model), and its own
 * rpm/tpm (RESOURCE_EXHAUSTED with a retry delay). Its budget is its tenant's budget
 * (config/keys.ts merges it into cost.budgets.tenants), enforced by the pool's budget gates.
 */
import type { ChatRequest, EmbedRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import { PoolError } from "../core/errors.js";
import type { KeyLimitStore } from "../limits/key-limits.js";
import { inputTokens } from "../pool/embed.js";
import { estimatePromptTokens } from "../pool/tokens.js";
import type { Clock } from "../util/clock.js";
import { mayCallModel, type CallerIdentity } from "./auth.js";

/** Tokens counted for a call admitted under a tpm limit, settled when it ends. */
export interface KeyReservation {
  readonly key: string;
  readonly at: number;
  readonly tokens: number;
}

export interface CallerPolicyOptions {
  store: KeyLimitStore;
  clock: Clock;
  /** The model a request that names none gets (the pool's default). */
  defaultModel(): string;
}

export interface CallerPolicy {
  /**
   * Bind `req` to the caller (tenant, priority) and check its model and limits. Returns the
   * reservation to settle when a tpm limit counted tokens, else undefined. Embeddings are
   * bound and limited the same way (their tokens are the inputs').
   */
  admit(caller: CallerIdentity, req: ChatRequest | EmbedRequest): KeyReservation | undefined | Promise<KeyReservation | undefined>;
  /** The call ended having used `totalTokens` (0 when it failed before any usage). */
  settle(r: KeyReservation | undefined, totalTokens: number): void;
}

function exhausted(caller: CallerIdentity, waitMs: number): PoolError {
  const which = caller.tpm !== undefined && caller.rpm === undefined ? `tpm ${caller.tpm}` : caller.tpm === undefined ? `rpm ${caller.rpm}` : `rpm ${caller.rpm} / tpm ${caller.tpm}`;
  const retry = Number.isFinite(waitMs) ? waitMs : 60_000;
  return new PoolError("resource_exhausted", `rate limit of API key ${JSON.stringify(caller.name)} reached (${which}); retry in ${Math.ceil(retry / 1000)} s`, {
    retryAfterMs: retry,
  });
}

export function createCallerPolicy(opts: CallerPolicyOptions): CallerPolicy {
  const { store, clock } = opts;
  const finish = (caller: CallerIdentity, wait: number, at: number, tokens: number): KeyReservation | undefined => {
    if (wait > 0) throw exhausted(caller, wait);
    return caller.tpm !== undefined ? { key: caller.name, at, tokens } : undefined;
  };
  return {
    admit(caller, req) {
      if (caller.tenant !== undefined) req.metadata.tenant = caller.tenant;
      if (caller.priority !== undefined && req.metadata.priority === undefined) req.metadata.priority = String(caller.priority);
      if (caller.models) {
        const model = req.model || opts.defaultModel();
        if (!mayCallModel(caller, model)) {
          throw new PoolError("permission_denied", `API key ${JSON.stringify(caller.name)} may not call model ${JSON.stringify(model)}`);
        }
      }
      if (caller.rpm === undefined && caller.tpm === undefined) return undefined;
      const tokens = caller.tpm === undefined ? 0 : req.$typeName === "llmpool.v1.EmbedRequest" ? inputTokens(req.inputs) : estimatePromptTokens(req);
      // Wall-clock time: shared windows (state/) are timed by it on every replica.
      const at = clock.wallNow();
      const wait = store.take(caller.name, caller, tokens, at);
      return typeof wait === "number" ? finish(caller, wait, at, tokens) : wait.then((w) => finish(caller, w, at, tokens));
    },
    settle(r, totalTokens) {
      if (r) store.settle(r.key, r.at, totalTokens - r.tokens, clock.wallNow());
    },
  };
}
