/**
 * Structured JSON logs (pino). Known secret-bearing fields are censored, and every string a
 * log line carries (the message and each field, nested ones included) passes through
 * redact(), so a key echoed by an upstream never reaches the log.
 */
import { pino, type Logger, type DestinationStream } from "pino";
import { redact, REDACTED } from "./redact.js";
import { stdoutDestination, TurnBatchedDestination } from "./log-destination.js";

export type { Logger } from "pino";

/** How deep redactFields() looks into nested objects and arrays. */
const MAX_DEPTH = 4;

/** Field names whose values are censored whatever they hold, at any depth redactFields() reaches. */
const SECRET_FIELDS = new Set(["api_key", "apiKey", "authorization", "Authorization", "x-api-key", "api-key", "X-Api-Key", "Api-Key"]);

/** A copy of `v` with every string redacted (only copied where something changed). */
export function redactFields(v: unknown, depth = 0): unknown {
  if (typeof v === "string") return redact(v);
  if (v === null || typeof v !== "object" || depth >= MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const r = redactFields(v[i], depth + 1);
      if (r !== v[i]) (out ??= v.slice())[i] = r;
    }
    return out ?? v;
  }
  if (v instanceof Error) {
    return { type: v.name, message: redact(v.message), stack: v.stack ? redact(v.stack) : undefined };
  }
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(v)) {
    const before = (v as Record<string, unknown>)[k];
    const r = before !== undefined && SECRET_FIELDS.has(k) ? REDACTED : redactFields(before, depth + 1);
    if (r !== before) (out ??= { ...(v as Record<string, unknown>) })[k] = r;
  }
  return out ?? v;
}

/**
 * pino's isoTime, with the string reused within a millisecond: under load many lines share one,
 * and formatting a Date was 0.6% of a call's CPU.
 */
let lastMs = -1;
let lastTime = "";
function isoTime(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastTime = `,"time":"${new Date(ms).toISOString()}"`;
  }
  return lastTime;
}

/** pino's level number for "error": lines at or above it are written at once, not at the turn's end. */
const ERROR_LEVEL = 50;

/**
 * A logger writing JSON lines to `destination` (default: stdout, one write per loop turn,
 * src/util/log-destination.ts). Secrets are censored by redactFields() in the logMethod hook:
 * one walk per line that both censors secret-named fields and redacts every string (pino's own
 * `redact` paths would add a wildcard stringifier to every field of every line).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const dest = destination ?? stdoutDestination();
  return pino(
    {
      level,
      base: { service: "llmpool" },
      timestamp: isoTime,
      hooks: {
        logMethod(args, method, levelNumber) {
          for (let i = 0; i < args.length; i++) args[i] = redactFields(args[i]) as never;
          method.apply(this, args);
          // A line about a failure is the one a crash right after must not lose.
          if (levelNumber >= ERROR_LEVEL && dest instanceof TurnBatchedDestination) dest.flushSync();
        },
      },
      formatters: {
        level: (label) => ({ level: label }),
      },
    },
    dest,
  );
}
