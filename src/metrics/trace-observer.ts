/**
 * OpenTelemetry traces (`telemetry.tracing`), as a pool observer: one SERVER span per request
 * and one CLIENT child per upstream attempt (retries, fallbacks, racing and hedged calls each
 * get theirs), exported over OTLP/HTTP in batches off the request path. A caller's W3C
 * `traceparent` (gRPC metadata or HTTP header, read by server/service.ts) makes the request
 * span a child of the caller's span; its sampled flag decides (parent-based sampling), else
 * `sample_ratio` does. Attribute names follow the OpenTelemetry GenAI semantic conventions.
 *
 * The provider is private to the server (not registered globally), so several servers in one
 * process (tests) keep their traces apart.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, createTraceState, type Span, type Context } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { TracingConfig } from "../config/schema.js";
import type { CallOutcome, CallRole, RequestRecord } from "../core/outcome.js";
import type { Endpoint } from "../pool/endpoint.js";
import type { PoolObserver } from "../pool/observer.js";
import { redact } from "../util/redact.js";
import { VERSION } from "../version.js";

export interface TracingOptions {
  config: TracingConfig;
  /** Export here instead of OTLP/HTTP (tests). */
  exporter?: SpanExporter;
}

export interface Tracing {
  readonly observer: PoolObserver;
  /** Export what is queued now. */
  flush(): Promise<void>;
  /** Export what is queued and stop. */
  shutdown(): Promise<void>;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The caller's context from its `traceparent`, or the root when absent or malformed. */
export function parentContext(traceparent: string | undefined, tracestate?: string): Context {
  if (!traceparent) return ROOT_CONTEXT;
  const m = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!m || m[1] === "ff" || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return ROOT_CONTEXT;
  // Version 00 has exactly four fields; later versions may append more.
  if (m[1] === "00" && m[5] !== undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[2]!,
    spanId: m[3]!,
    traceFlags: parseInt(m[4]!, 16) & 1,
    isRemote: true,
    traceState: tracestate ? createTraceState(tracestate) : undefined,
  });
}

/** gen_ai.operation.name by RPC kind (streams are chat completions too). */
const OPERATION = "chat";

export function createTracing(opts: TracingOptions): Tracing {
  const c = opts.config;
  const exporter = opts.exporter ?? new OTLPTraceExporter({ url: c.endpoint, headers: { ...c.headers } });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": c.service_name, "service.version": VERSION }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(c.sample_ratio) }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer("llmpool", VERSION);
  const requests = new WeakMap<RequestRecord, { span: Span; ctx: Context; attempts: Map<Endpoint, Span[]> }>();

  const observer: PoolObserver = {
    requestStarted(r) {
      const parent = parentContext(r.traceparent, r.tracestate);
      const span = tracer.startSpan(
        `${OPERATION} ${r.model}`.trimEnd(),
        {
          kind: SpanKind.SERVER,
          attributes: { "gen_ai.operation.name": OPERATION, "gen_ai.request.model": r.model, "llmpool.request_id": r.requestId, "llmpool.rpc": r.kind },
        },
        parent,
      );
      requests.set(r, { span, ctx: trace.setSpan(context.active(), span), attempts: new Map() });
    },
    attemptStarted(r: RequestRecord, e: Endpoint, role: CallRole) {
      const t = requests.get(r);
      if (!t) return;
      const model = e.models.get(r.model) ?? r.model;
      const span = tracer.startSpan(
        `${OPERATION} ${model}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.system": e.type,
            "gen_ai.provider.name": e.type,
            "gen_ai.request.model": model,
            "llmpool.provider": e.name,
            "llmpool.attempt.role": role,
          },
        },
        t.ctx,
      );
      let list = t.attempts.get(e);
      if (!list) t.attempts.set(e, (list = []));
      list.push(span);
    },
    attemptEnded(r: RequestRecord, e: Endpoint, o: CallOutcome) {
      const span = requests.get(r)?.attempts.get(e)?.shift();
      if (!span) return;
      if (o.usage) {
        span.setAttribute("gen_ai.usage.input_tokens", o.usage.promptTokens);
        span.setAttribute("gen_ai.usage.output_tokens", o.usage.completionTokens);
      }
      if (o.costUsd !== undefined) span.setAttribute("llmpool.cost_usd", o.costUsd);
      if (o.canceled) span.setAttribute("llmpool.canceled", true);
      if (!o.ok && !o.canceled) {
        span.setAttribute("error.type", o.error?.kind ?? "error");
        span.setStatus({ code: SpanStatusCode.ERROR, message: redact(o.error?.message ?? "") });
      }
      span.end();
    },
    requestEnded(r) {
      const t = requests.get(r);
      if (!t) return;
      requests.delete(r);
      const span = t.span;
      span.updateName(`${OPERATION} ${r.model}`.trimEnd());
      span.setAttribute("gen_ai.request.model", r.model);
      if (r.provider) span.setAttribute("llmpool.provider", r.provider);
      span.setAttribute("llmpool.attempts", r.attempts);
      span.setAttribute("llmpool.upstream_calls", r.upstreamCalls);
      if (r.usage) {
        span.setAttribute("gen_ai.usage.input_tokens", r.usage.promptTokens);
        span.setAttribute("gen_ai.usage.output_tokens", r.usage.completionTokens);
      }
      if (r.finishReason) span.setAttribute("gen_ai.response.finish_reasons", [r.finishReason]);
      span.setAttribute("llmpool.cost_usd", r.costUsd);
      if (r.error) {
        span.setAttribute("error.type", r.error.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: redact(r.error.message) });
      }
      // Attempts still open (a lost race the pool did not report) end with the request.
      for (const list of t.attempts.values()) for (const s of list) s.end();
      span.end();
    },
  };

  return {
    observer,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
