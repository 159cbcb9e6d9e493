/**
 * Structured JSON logs (pino). Known secret-bearing fields are censored, and every message
 * passes through redact() so a key echoed by an upstream never reaches the log.
 */
import { pino, type Logger, type DestinationStream } from "pino";
import { redact } from "./redact.js";

export type { Logger } from "pino";

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
          for (let i = 0; i < args.length; i++) {
            const a = args[i];
            if (typeof a === "string") args[i] = redact(a);
          }
          method.apply(this, args);
        },
      },
      formatters: {
        level: (label) => ({ level: label }),
      },
    },
    destination,
  );
}
