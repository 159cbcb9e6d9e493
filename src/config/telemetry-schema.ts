/** The `telemetry:` block: OpenTelemetry traces over OTLP/HTTP (README "Tracing"). */
import { z } from "zod";

export const telemetrySchema = z.strictObject({
  tracing: z
    .strictObject({
      /** Off by default: no spans are made and nothing is sent. */
      enabled: z.boolean().default(false),
      /** OTLP/HTTP traces endpoint (a collector's /v1/traces). */
      endpoint: z
        .string()
        .refine((u) => /^https?:\/\//.test(u) && URL.canParse(u), "must be an http:// or https:// URL")
        .default("http://127.0.0.1:4318/v1/traces"),
      /** `service.name` of the spans' resource. */
      service_name: z.string().min(1, "must not be empty").default("llmpool"),
      /** Share of new traces recorded (0..1); a caller's sampled flag in `traceparent` wins. */
      sample_ratio: z.number().min(0, "must be >= 0").max(1, "must be <= 1").default(1),
      /** Extra HTTP headers on every export (collector auth); never logged. */
      headers: z.record(z.string().min(1), z.string()).default({}),
    })
    .prefault({}),
});

export type TelemetryConfig = z.infer<typeof telemetrySchema>;
export type TracingConfig = TelemetryConfig["tracing"];
