/**
 * Gateway authentication (README "Security"). With any key in `server.auth.api_keys` or
 * `server.auth.keys`, every surface that carries data needs `authorization: Bearer <key>` or
 * `x-api-key: <key>`: LLMPool RPCs (gRPC, Connect, gRPC-Web, the fast path), the HTTP front
 * doors, and /metrics when `server.metrics.auth` is on. Health checks and reflection stay open
 * for probes and tooling.
 *
 * authenticate() reads headers only, so the server calls it before any body byte is read.
 * Keys are compared by SHA-256: the presented key is hashed, looked up by its digest and the
 * digests compared with timingSafeEqual, so neither the lookup nor the compare depends on how
 * much of a guess matches a real key. Errors say nothing about which keys are valid.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, createContextKey } from "@connectrpc/connect";
import type { Config } from "../config/schema.js";
import { compileGlob, type ModelGlob } from "../pool/router.js";

type AuthConfig = Config["server"]["auth"];

/** Who is calling: what the key decides about the call. */
export interface CallerIdentity {
  /** For logs and errors: "anonymous", "api_key", or the virtual key's name. */
  readonly name: string;
  /** The tenant the key is bound to; undefined = not bound (`metadata.tenant` is used). */
  readonly tenant?: string;
  /** Per-key limits (limits/key-limits.ts); undefined = none. */
  readonly rpm?: number;
  readonly tpm?: number;
  /** Models the key may call; undefined = any. */
  readonly models?: readonly ModelGlob[];
  /** Default queue priority when the call sends none. */
  readonly priority?: number;
}

/** No gateway key is configured: anyone reaching the port (loopback unless opted out). */
export const ANONYMOUS: CallerIdentity = Object.freeze({ name: "anonymous" });
/** A plain `api_keys` entry: trusted, no tenant binding, no limits of its own. */
export const PLAIN_KEY: CallerIdentity = Object.freeze({ name: "api_key" });

/** Where connect-node handlers find the caller (server.ts sets it from the Node request). */
export const CALLER = createContextKey<CallerIdentity>(ANONYMOUS, { description: "llmpool caller" });

export interface GatewayAuth {
  /** True when some gateway key is configured. */
  required(): boolean;
  /**
   * The caller behind these headers, or the UNAUTHENTICATED error. Headers only: call it
   * before reading the body. The one check every data surface (front doors too) goes through.
   */
  authenticate(header: (name: string) => string | null): CallerIdentity | ConnectError;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

interface Compiled {
  /** Hex digest -> (digest, identity). */
  byDigest: Map<string, { digest: Buffer; identity: CallerIdentity }>;
  required: boolean;
}

function compile(auth: AuthConfig): Compiled {
  const byDigest = new Map<string, { digest: Buffer; identity: CallerIdentity }>();
  for (const k of auth.api_keys) {
    const d = digest(k);
    byDigest.set(d.toString("hex"), { digest: d, identity: PLAIN_KEY });
  }
  auth.keys.forEach((k, i) => {
    const d = k.key !== undefined ? digest(k.key) : Buffer.from(k.key_sha256!, "hex");
    const identity: CallerIdentity = Object.freeze({
      name: k.name ?? `${k.tenant}#${i}`,
      tenant: k.tenant,
      rpm: k.rpm,
      tpm: k.tpm,
      models: k.models?.map((m) => compileGlob(m, m)),
      priority: k.priority,
    });
    byDigest.set(d.toString("hex"), { digest: d, identity });
  });
  return { byDigest, required: byDigest.size > 0 };
}

const MISSING = "missing API key: send authorization: Bearer <key>";

/** The key a request presents: `authorization: Bearer <key>`, else `x-api-key`. */
export function presentedKey(header: (name: string) => string | null): string | null {
  const auth = header("authorization");
  if (auth && auth.length > 7 && auth.slice(0, 7).toLowerCase() === "bearer ") return auth.slice(7).trim();
  return header("x-api-key");
}

export function createGatewayAuth(config: () => AuthConfig): GatewayAuth {
  let cachedFor: AuthConfig | undefined;
  let compiled: Compiled = { byDigest: new Map(), required: false };
  const current = () => {
    const c = config();
    if (c !== cachedFor) {
      cachedFor = c;
      compiled = compile(c);
    }
    return compiled;
  };
  return {
    required: () => current().required,
    authenticate(header) {
      const c = current();
      if (!c.required) return ANONYMOUS;
      const presented = presentedKey(header);
      if (!presented) return new ConnectError(MISSING, Code.Unauthenticated);
      const d = digest(presented);
      const found = c.byDigest.get(d.toString("hex"));
      if (found && timingSafeEqual(found.digest, d)) return found.identity;
      return new ConnectError("invalid API key", Code.Unauthenticated);
    },
  };
}

/** True when `identity` may call `model` (its globs, or any model when it has none). */
export function mayCallModel(identity: CallerIdentity, model: string): boolean {
  const globs = identity.models;
  if (!globs) return true;
  for (const g of globs) if (g.regex.test(model)) return true;
  return false;
}
