/**
 * OpenTelemetry traces through the real server to a fake OTLP/HTTP collector on 127.0.0.1:
 * one span per request with a child per upstream attempt, GenAI attribute names, the caller's
 * `traceparent` continued from gRPC metadata and from Connect HTTP headers, parent-based
 * sampling, collector headers sent and never logged.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.js";
import { createLogger } from "../src/util/logger.js";
import { parentContext } from "../src/metrics/trace-observer.js";
import { trace } from "@opentelemetry/api";
import { startFakeOpenAI } from "./helpers/fake-openai.js";
import { harness } from "./helpers/harness.js";
import { openaiProvider, startServer, user } from "./helpers/server.js";

const h = harness();

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  status?: { code?: number };
  attributes: { key: string; value: Record<string, unknown> }[];
}

async function collector() {
  const spans: OtlpSpan[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      headers.push(req.headers);
      const doc = JSON.parse(body) as { resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  h.cleanup.push(() => new Promise((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, spans, headers };
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if ("intValue" in v) return Number(v.intValue);
  if ("arrayValue" in v) return (v.arrayValue as { values: { stringValue: string }[] }).values.map((x) => x.stringValue);
  return Object.values(v)[0];
};

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

describe("OpenTelemetry tracing", () => {
  it("exports a request span with one child per attempt, continuing the caller's traceparent", async () => {
    const otlp = await collector();
    const bad = await startFakeOpenAI("bad");
    const good = await startFakeOpenAI("good");
    h.cleanup.push(() => bad.close(), () => good.close());
    bad.behave({ status: 500, errorBody: { error: { message: "boom" } } });
    good.behave({ usage: { prompt_tokens: 12, completion_tokens: 3 } });
    const lines: string[] = [];
    const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
    const s = await startServer(
      {
        log: { level: "debug" },
        telemetry: { tracing: { enabled: true, endpoint: otlp.url, service_name: "gw-test", headers: { authorization: "Bearer collector-secret-0042" } } },
        pool: { strategy: "priority", max_retries: 1, fallback: "next_available", retry_backoff_ms: { initial: 1, max: 1 } },
        providers: [openaiProvider("bad", bad.url, { priority: 1 }), openaiProvider("good", good.url, { priority: 2 })],
      },
      { logger: createLogger("debug", sink) },
    );
    const traceparent = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;
    const r = await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")] }, { headers: { traceparent } });
    expect(r.provider).toBe("good");
    // Connect over HTTP/1.1 with the header: the same trace continues.
    await s.connect.chat({ model: "gpt-4o-mini", messages: [user("again")] }, { headers: { traceparent: `00-${CALLER_TRACE}-${"1".repeat(16)}-01` } });
    await s.close(); // flushes the exporter

    const roots = otlp.spans.filter((x) => x.kind === 2); // SERVER
    const children = otlp.spans.filter((x) => x.kind === 3); // CLIENT
    expect(roots).toHaveLength(2);
    const root = roots.find((x) => x.parentSpanId === CALLER_SPAN)!;
    expect(root).toBeDefined();
    expect(root.traceId).toBe(CALLER_TRACE);
    expect(root.name).toBe("chat gpt-4o-mini");
    expect(roots.find((x) => x !== root)!.parentSpanId).toBe("1".repeat(16));
    expect(attr(root, "gen_ai.operation.name")).toBe("chat");
    expect(attr(root, "gen_ai.usage.input_tokens")).toBe(12);
    expect(attr(root, "gen_ai.usage.output_tokens")).toBe(3);
    expect(attr(root, "gen_ai.response.finish_reasons")).toEqual(["stop"]);
    expect(attr(root, "llmpool.provider")).toBe("good");
    expect(attr(root, "llmpool.request_id")).toBe(r.requestId);

    const mine = children.filter((x) => x.parentSpanId === root.spanId);
    expect(mine.map((x) => attr(x, "llmpool.provider"))).toEqual(["bad", "good"]);
    expect(mine.every((x) => x.traceId === CALLER_TRACE && x.name === "chat gpt-4o-mini")).toBe(true);
    expect(attr(mine[0]!, "gen_ai.system")).toBe("openai");
    expect(attr(mine[0]!, "error.type")).toBeDefined();
    expect(mine[0]!.status?.code).toBe(2); // ERROR
    expect(attr(mine[1]!, "llmpool.attempt.role")).toBe("fallback");
    expect(attr(mine[1]!, "gen_ai.usage.input_tokens")).toBe(12);

    expect(otlp.headers[0]!.authorization).toBe("Bearer collector-secret-0042");
    expect(lines.join("")).not.toContain("collector-secret-0042");
  });

  it("samples by sample_ratio for new traces and follows the caller's sampled flag", async () => {
    const otlp = await collector();
    const up = await startFakeOpenAI("up");
    h.cleanup.push(() => up.close());
    const s = await startServer({
      telemetry: { tracing: { enabled: true, endpoint: otlp.url, sample_ratio: 0 } },
      providers: [openaiProvider("up", up.url)],
    });
    await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("no parent")] });
    await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("not sampled")] }, { headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-00` } });
    await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("sampled")] }, { headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
    await s.close();
    expect(otlp.spans.filter((x) => x.kind === 2).map((x) => x.parentSpanId)).toEqual([CALLER_SPAN]);
  });

  it("ignores malformed traceparent values", () => {
    for (const bad of ["", "garbage", `ff-${CALLER_TRACE}-${CALLER_SPAN}-01`, `00-${"0".repeat(32)}-${CALLER_SPAN}-01`, `00-${CALLER_TRACE}-${CALLER_SPAN}-01-extra`]) {
      expect(trace.getSpanContext(parentContext(bad)), bad).toBeUndefined();
    }
    expect(trace.getSpanContext(parentContext(`00-${CALLER_TRACE.toUpperCase()}-${CALLER_SPAN}-01`))?.traceId).toBe(CALLER_TRACE);
  });

  it("config: off by default; bad values name their path", () => {
    const base = { providers: [{ name: "m", type: "mock", models: ["m"] }] };
    expect(validateConfig(base, "t", {}).config.telemetry.tracing.enabled).toBe(false);
    expect(() => validateConfig({ ...base, telemetry: { tracing: { endpoint: "ftp://x" } } }, "t", {})).toThrow(/telemetry\.tracing\.endpoint/);
    expect(() => validateConfig({ ...base, telemetry: { tracing: { sample_ratio: 2 } } }, "t", {})).toThrow(/telemetry\.tracing\.sample_ratio/);
    expect(() => validateConfig({ ...base, telemetry: { tracing: { exporter: "x" } } }, "t", {})).toThrow(/telemetry\.tracing\.exporter/);
  });
});
