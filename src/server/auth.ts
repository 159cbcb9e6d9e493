/**
 * Gateway authentication: when `server.auth.api_keys` is set, LLMPool RPCs need
 * `authorization: Bearer <key>` or `x-api-key: <key>`. Health checks and reflection stay open
 * for probes and tooling. Keys are compared by hash in constant time; errors say nothing
 * about which keys are valid.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { LLMPool } from "../../gen/llmpool/v1/llmpool_pb.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Checks a call's credentials: undefined when allowed, else the UNAUTHENTICATED error. */
export type Authorizer = (header: (name: string) => string | null) => ConnectError | undefined;

export function createAuthorizer(keys: () => readonly string[]): Authorizer {
  let cachedFor: readonly string[] | undefined;
  let digests: Buffer[] = [];
  return (header) => {
    const current = keys();
    if (current.length === 0) return undefined;
    if (current !== cachedFor) {
      cachedFor = current;
      digests = current.map(digest);
    }
    const auth = header("authorization");
    const presented = auth?.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : header("x-api-key");
    if (!presented) return new ConnectError("missing API key: send authorization: Bearer <key>", Code.Unauthenticated);
    const d = digest(presented);
    let ok = false;
    for (const k of digests) ok = timingSafeEqual(k, d) || ok;
    return ok ? undefined : new ConnectError("invalid API key", Code.Unauthenticated);
  };
}

/** The authorizer as a connect interceptor, for LLMPool RPCs only. */
export function createAuthInterceptor(authorize: Authorizer): Interceptor {
  return (next) => async (req) => {
    if (req.service.typeName !== LLMPool.typeName) return next(req);
    const err = authorize((name) => req.header.get(name));
    if (err) throw err;
    return next(req);
  };
}
