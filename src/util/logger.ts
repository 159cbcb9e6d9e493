/**
 * Structured JSON logs (pino). Known secret-bearing fields are censored, and every string a
 * log line carries (the message and each field, nested ones included) passes through
 * redact(), so a key echoed by an upstream never reaches the log.
 */
import { pino, type Logger, type DestinationStream } from "pino";
import { redact } from "./redact.js";

export type { Logger } from "pino";

/** How deep redactFields() looks into nested objects and arrays. */
const MAX_DEPTH = 4;

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
    const r = redactFields(before, depth + 1);
    if (r !== before) (out ??= { ...(v as Record<string, unknown>) })[k] = r;
  }
  return out ?? v;
}

/**
 * stdout, written synchronously, as process.stdout itself is for files and pipes. pino's default
 * (sonic-boom, sync: false) hands every line to libuv's thread pool: per logged request a futex
 * wake of a pool thread and an eventfd wake of the event loop, one extra loop turn per call
 * (strace, bench/RESULTS.md "Why a Node client saw 3x wrk's added latency"). A direct write(2)
 * of one line costs a few µs and no turn. One stream for every logger in the process.
 */
let stdout: DestinationStream | undefined;
const STDOUT = (): DestinationStream => (stdout ??= pino.destination({ dest: 1, sync: true }));

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "llmpool" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "api_key",
          "*.api_key",
          "providers[*].api_key",
          "headers.authorization",
          "headers['x-api-key']",
          "headers['api-key']",
          "authorization",
        ],
        censor: "[REDACTED]",
      },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) args[i] = redactFields(args[i]) as never;
          method.apply(this, args);
        },
      },
      formatters: {
        level: (label) => ({ level: label }),
      },
    },
    destination ?? STDOUT(),
  );
}
