/**
 * `state:` — where limits, cool-downs, budgets and spend are counted (README "Running several
 * replicas"). `memory` keeps them in the process, exactly as a single replica always has;
 * `redis` shares them between every replica that names the same Redis and key_prefix.
 */
import { z } from "zod";

export const STATE_BACKENDS = ["memory", "redis"] as const;
export const ON_UNAVAILABLE = ["local", "closed"] as const;

// An empty value is reported once, by the superRefine below (or as an unset ${VAR}).
const redisUrl = z
  .string()
  .refine((s) => {
    if (s === "") return true;
    try {
      const u = new URL(s);
      return (u.protocol === "redis:" || u.protocol === "rediss:") && u.hostname !== "";
    } catch {
      return false;
    }
  }, "must be a redis:// or rediss:// URL with a host (credentials as redis://user:password@host:port)");

export const stateSchema = z
  .strictObject({
    /** memory (default): one process, exactly as before; redis: shared by every replica. */
    backend: z
      .enum(STATE_BACKENDS, { error: (i) => `unknown state backend ${JSON.stringify(i.input)}; expected memory or redis` })
      .default("memory"),
    /** redis:// or rediss:// (TLS); username and password go in the URL. Needed with backend redis. */
    url: redisUrl.optional(),
    /** Prefix of every key, so several clusters can share one Redis. */
    key_prefix: z
      .string()
      .min(1, "must not be empty")
      .max(64, "at most 64 characters")
      .regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits and _ . : - only")
      .default("llmpool"),
    /** While Redis is unreachable: local (limits / replicas_hint per replica) or closed (UNAVAILABLE). */
    on_unavailable: z
      .enum(ON_UNAVAILABLE, { error: (i) => `unknown on_unavailable ${JSON.stringify(i.input)}; expected local or closed` })
      .default("local"),
    /** Replicas in the cluster; the local fallback gives each one limit / replicas_hint. */
    replicas_hint: z.number().int("must be an integer").min(1, "must be >= 1").max(1000, "must be <= 1000").default(1),
  })
  .superRefine((s, ctx) => {
    if (s.backend === "redis" && !s.url) {
      ctx.addIssue({ code: "custom", path: ["url"], message: "is required with backend redis (e.g. redis://127.0.0.1:6379 or ${REDIS_URL})" });
    }
  });

export type StateConfig = z.infer<typeof stateSchema>;

/** The URL with any password replaced, for logs, errors and print-config. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "REDACTED";
    return u.toString();
  } catch {
    return "[invalid url]";
  }
}

/** The password of a redis URL, decoded ("" when none). */
export function redisPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return "";
  }
}
