/**
 * The security settings of `server:` (README "Security"): gateway keys, slow-client timeouts,
 * connection caps and request-shape limits. Every default is here.
 */
import { z } from "zod";
import { budgetSchema, nonNegInt, posInt } from "./provider-schema.js";

/** Longest tenant name (tenants are ledger keys; same bound as cost/budgets.ts). */
const MAX_TENANT = 128;

/** A virtual key: a gateway key bound to a tenant, with its own limits. */
export const virtualKeySchema = z
  .strictObject({
    /** The key itself (use `${VAR}`); or `key_sha256`, so the config holds only a hash. */
    key: z.string().min(16, "virtual keys must be at least 16 characters").optional(),
    /** Hex SHA-256 of the key (`printf %s "$KEY" | sha256sum`). */
    key_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits (the SHA-256 of the key)")
      .optional(),
    /** A label for logs and errors (default: the tenant and the key's position). */
    name: z.string().min(1).max(64).optional(),
    /** Every call made with this key is this tenant's: `metadata.tenant` cannot change it. */
    tenant: z.string().min(1, "must not be empty").max(MAX_TENANT, `at most ${MAX_TENANT} characters`),
    /** Requests a minute with this key (unset = no limit). */
    rpm: posInt.optional(),
    /** Tokens a minute with this key: prompt estimate at admission, settled to real usage. */
    tpm: posInt.optional(),
    /** Model names or globs (`gpt-4o*`) this key may call (unset = every model). */
    models: z.array(z.string().min(1)).min(1, "omit models to allow every model").optional(),
    /** USD limits of the key's tenant (merged into cost.budgets.tenants). */
    budget: budgetSchema.optional(),
    /** Queue priority of calls that send no `metadata.priority` (higher first). */
    priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  })
  .superRefine((k, ctx) => {
    if ((k.key === undefined) === (k.key_sha256 === undefined)) {
      ctx.addIssue({ code: "custom", path: ["key"], message: "set exactly one of key and key_sha256" });
    }
  });

export const authSchema = z
  .strictObject({
    /** Plain gateway keys: callers send `authorization: Bearer <key>` or `x-api-key`; tenant "" and no limits. */
    api_keys: z.array(z.string().min(8, "gateway keys must be at least 8 characters")).default([]),
    /** Virtual keys bound to tenants (see virtualKeySchema). */
    keys: z.array(virtualKeySchema).default([]),
    /**
     * Serve without any gateway key on an address other than loopback. Off: such a config
     * refuses to start, because anyone who can reach the port could spend the provider keys.
     */
    allow_anonymous: z.boolean().default(false),
  })
  .prefault({});

export const timeoutsSchema = z
  .strictObject({
    /** Time to receive a request's headers (HTTP/1.1), or a new connection's first bytes. */
    headers_ms: posInt.default(10_000),
    /** Time to receive a request's body once its headers are in (HTTP/1.1 and HTTP/2). */
    body_ms: posInt.default(30_000),
    /** A connection (HTTP/1.1 keep-alive or HTTP/2 session) with no traffic is closed after this. */
    idle_ms: posInt.default(65_000),
  })
  .prefault({});

export const requestLimitsSchema = z
  .strictObject({
    /** Entries in `metadata`. */
    max_metadata_entries: posInt.default(64),
    /** Entries in `tools`. */
    max_tools: posInt.default(128),
    /** Size of one tool's `parameters` schema (JSON bytes, approximately). */
    max_tool_schema_bytes: posInt.default(64 * 1024),
    /** Size of the decoded request: message text, images, tool schemas, metadata. */
    max_decoded_bytes: posInt.default(16 * 1024 * 1024),
    /** Messages in one request. */
    max_messages: posInt.default(10_000),
  })
  .prefault({});

/** The settings above, as `server:` keys. */
export const securityServerKeys = {
  auth: authSchema,
  timeouts: timeoutsSchema,
  /** Concurrent streams one HTTP/2 session may open (advertised in SETTINGS). */
  max_concurrent_streams: posInt.max(2 ** 31 - 1).default(256),
  /** Open connections at most (0 = no cap); further ones are closed at once. */
  max_connections: nonNegInt.default(4096),
  /** Caps on the shape of a ChatRequest, each an INVALID_ARGUMENT naming the field. */
  limits: requestLimitsSchema,
  metrics: z
    .strictObject({
      /** /metrics needs a gateway key too (it names providers, tenants and models). */
      auth: z.boolean().default(false),
    })
    .prefault({}),
};
