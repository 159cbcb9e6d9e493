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

export function createAuthInterceptor(keys: () => readonly string[]): Interceptor {
  let cachedFor: readonly string[] | undefined;
  let digests: Buffer[] = [];
  return (next) => async (req) => {
    const current = keys();
    if (current.length === 0 || req.service.typeName !== LLMPool.typeName) return next(req);
    if (current !== cachedFor) {
      cachedFor = current;
      digests = current.map(digest);
    }
    const auth = req.header.get("authorization");
    const presented = auth?.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : req.header.get("x-api-key");
    if (!presented) throw new ConnectError("missing API key: send authorization: Bearer <key>", Code.Unauthenticated);
    const d = digest(presented);
    let ok = false;
    for (const k of digests) ok = timingSafeEqual(k, d) || ok;
    if (!ok) throw new ConnectError("invalid API key", Code.Unauthenticated);
    return next(req);
  };
}
