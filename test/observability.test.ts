/**
 * Observability end to end: GetPoolStats and /metrics against what fake upstreams actually
 * received and answered (counts, tokens), cost arithmetic against the built-in price table,
 * request ids, and every log line of the run checked for the API keys it used.
 */
import { Writable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinPrice } from "../src/cost/price-table.js";
import { costOf } from "../src/cost/pricing.js";
import { createLogger } from "../src/util/logger.js";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";
import { openaiProvider, startServer, user, type TestServer } from "./helpers/server.js";

/** What a fake upstream answered: 200s with their usage, and failures. */
interface Ledger {
  ok: number;
  failed: number;
  prompt: number;
  completion: number;
  cached: number;
}

const logLines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    for (const line of String(chunk).split("\n")) if (line) logLines.push(line);
    cb();
  },
});

let s: TestServer;
let ups: FakeUpstream[];
const answered = new Map<string, Ledger>();
const keys = (name: string) => `sk-test-${name}-secret-0123456789`;

/** Upstream behaviour: distinct usage per call; "b" fails its first two calls (503). */
function behave(up: FakeUpstream) {
  const book: Ledger = { ok: 0, failed: 0, prompt: 0, completion: 0, cached: 0 };
  answered.set(up.name, book);
  up.behave((_req, n) => {
    if (up.name === "b" && n <= 2) {
      book.failed++;
      return { status: 503, errorBody: { error: { message: `overloaded; your key ${keys("b")} is fine`, type: "server_error" } } };
    }
    const usage = { prompt_tokens: 20 + n, completion_tokens: 3 + (n % 4), prompt_tokens_details: { cached_tokens: n % 2 === 0 ? 8 : 0 } };
    book.ok++;
    book.prompt += usage.prompt_tokens;
    book.completion += usage.completion_tokens;
    book.cached += usage.prompt_tokens_details.cached_tokens;
    return { reply: `reply ${n} from ${up.name}`, usage };
  });
}

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

const responses: { provider: string; tenant: string; cost: number; prompt: number; completion: number; cached: number }[] = [];

beforeAll(async () => {
  ups = await Promise.all(["a", "b", "c"].map((n) => startFakeOpenAI(n)));
  ups.forEach(behave);
  s = await startServer(
    {
      pool: { strategy: "round_robin", max_retries: 2, retry_backoff_ms: { initial: 1, max: 5 } },
      providers: ups.map((u) => openaiProvider(u.name, u.url)),
    },
    { logger: createLogger("debug", sink) },
  );
  // 12 unary calls and 6 streams, over two tenants; b's two failures fall back to c and a.
  for (let i = 0; i < 12; i++) {
    const tenant = i % 3 === 0 ? "t2" : "t1";
    const r = await s.connect.chat({ model: "gpt-4o-mini", messages: [user(`q${i}`)], metadata: { tenant } }, { headers: { "x-request-id": `obs-${i}` } });
    responses.push({ provider: r.provider, tenant, cost: r.costUsd, prompt: r.usage!.promptTokens, completion: r.usage!.completionTokens, cached: r.usage!.cachedTokens });
  }
  for (let i = 0; i < 6; i++) {
    let last;
    for await (const ch of s.grpc.streamChat({ model: "gpt-4o-mini", messages: [user(`s${i}`)], metadata: { tenant: "t1" } })) last = ch;
    responses.push({ provider: last!.provider, tenant: "t1", cost: last!.costUsd, prompt: last!.usage!.promptTokens, completion: last!.usage!.completionTokens, cached: last!.usage!.cachedTokens });
  }
});

afterAll(async () => {
  await s?.close();
  await Promise.all((ups ?? []).map((u) => u.close()));
});

describe("GetPoolStats and /metrics match what the upstreams saw", () => {
  it("counts calls, successes, failures and tokens per provider", async () => {
    const stats = await s.grpc.getPoolStats({});
    expect(stats.providers.map((p) => p.name)).toEqual(["a", "b", "c"]);
    let calls = 0;
    for (const p of stats.providers) {
      const up = ups.find((u) => u.name === p.name)!;
      const book = answered.get(p.name)!;
      calls += up.chatRequests().length;
      expect(Number(p.requests), p.name).toBe(up.chatRequests().length);
      expect(Number(p.successes), p.name).toBe(book.ok);
      expect(Number(p.failures), p.name).toBe(book.failed);
      expect(Number(p.promptTokens), p.name).toBe(book.prompt);
      expect(Number(p.completionTokens), p.name).toBe(book.completion);
      expect(p.latency!.samples, p.name).toBe(book.ok);
      expect(p.latency!.p50Ms).toBeGreaterThan(0);
      expect(p.latency!.p50Ms).toBeLessThanOrEqual(p.latency!.p95Ms);
      expect(p.latency!.p95Ms).toBeLessThanOrEqual(p.latency!.p99Ms);
      expect(p.trafficShare).toBeCloseTo(up.chatRequests().length / 20, 12);
    }
    expect(calls).toBe(20); // 18 requests + 2 failed attempts
    const t = stats.totals!;
    expect(Number(t.requests)).toBe(18);
    expect(Number(t.successes)).toBe(18);
    expect(Number(t.upstreamCalls)).toBe(20);
    expect(Number(t.fallbacks)).toBe(2);
    expect(stats.providers.reduce((n, p) => n + Number(p.fallbacks), 0)).toBe(2);
    expect(Number(t.promptTokens)).toBe(responses.reduce((n, r) => n + r.prompt, 0));
    expect(Number(t.completionTokens)).toBe(responses.reduce((n, r) => n + r.completion, 0));
    expect(t.latency!.samples).toBe(18);
    // Streams have a time to first token.
    expect(stats.providers.reduce((n, p) => n + p.ttft!.samples, 0)).toBe(6);
    expect(stats.strategy).toBe("round_robin");
    expect(stats.configVersion).toMatch(/^[0-9a-f]{12}$/);
    expect(stats.uptimeS).toBeGreaterThan(0);
    expect(stats.healthyProviders).toBe(3);
  });

  it("prices every call from the built-in table, cached tokens at the cached rate", async () => {
    const price = builtinPrice("gpt-4o-mini")!;
    for (const r of responses) {
      expect(r.cost).toBeCloseTo(costOf(price, { promptTokens: r.prompt, completionTokens: r.completion, cachedTokens: r.cached }), 15);
    }
    expect(responses.some((r) => r.cached > 0)).toBe(true);
    const stats = await s.grpc.getPoolStats({});
    const total = responses.reduce((n, r) => n + r.cost, 0);
    expect(stats.totals!.costUsd).toBeCloseTo(total, 12);
    for (const p of stats.providers) {
      const book = answered.get(p.name)!;
      const expected = ((book.prompt - book.cached) * price.inputPer1m + book.cached * price.cachedInputPer1m + book.completion * price.outputPer1m) / 1e6;
      expect(p.costUsd, p.name).toBeCloseTo(expected, 12);
      const entry = stats.costByProvider.find((c) => c.key === p.name)!;
      expect(entry.costUsd).toBeCloseTo(expected, 12);
      expect(Number(entry.requests)).toBe(book.ok);
      expect(Number(entry.promptTokens)).toBe(book.prompt);
    }
    const byTenant = (t: string) => responses.filter((r) => r.tenant === t).reduce((n, r) => n + r.cost, 0);
    expect(stats.costByTenant.map((c) => [c.key, Number(c.requests)])).toEqual([
      ["t1", 14],
      ["t2", 4],
    ]);
    expect(stats.costByTenant[0]!.costUsd).toBeCloseTo(byTenant("t1"), 12);
    expect(stats.costByTenant[1]!.costUsd).toBeCloseTo(byTenant("t2"), 12);
    expect(stats.costByModel).toHaveLength(1);
    expect(stats.costByModel[0]!.key).toBe("gpt-4o-mini");
    expect(stats.costByModel[0]!.costUsd).toBeCloseTo(total, 12);
  });

  it("exposes the same counts on /metrics", async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    for (const up of ups) {
      const book = answered.get(up.name)!;
      expect(metric(text, "llmpool_upstream_requests_total", { provider: up.name }), up.name).toBe(up.chatRequests().length);
      expect(metric(text, "llmpool_upstream_requests_total", { provider: up.name, status: "ok" })).toBe(book.ok);
      expect(metric(text, "llmpool_upstream_requests_total", { provider: up.name, status: "overloaded" })).toBe(book.failed);
      expect(metric(text, "llmpool_tokens_total", { provider: up.name, model: "gpt-4o-mini", direction: "prompt" })).toBe(book.prompt);
      expect(metric(text, "llmpool_tokens_total", { provider: up.name, direction: "completion" })).toBe(book.completion);
      expect(metric(text, "llmpool_cached_tokens_total", { provider: up.name })).toBe(book.cached);
      expect(metric(text, "llmpool_upstream_duration_seconds_count", { provider: up.name })).toBe(book.ok);
      expect(metric(text, "llmpool_provider_healthy", { provider: up.name })).toBe(1);
      expect(metric(text, "llmpool_provider_state", { provider: up.name, state: "healthy" })).toBe(1);
      expect(metric(text, "llmpool_provider_circuit_breaker_state", { provider: up.name })).toBe(0);
      expect(metric(text, "llmpool_rate_limit_rejections_total", { provider: up.name })).toBe(0);
    }
    expect(metric(text, "llmpool_requests_total", { kind: "chat", outcome: "ok" })).toBe(12);
    expect(metric(text, "llmpool_requests_total", { kind: "stream", outcome: "ok" })).toBe(6);
    expect(metric(text, "llmpool_request_ttft_seconds_count", { model: "gpt-4o-mini" })).toBe(6);
    expect(metric(text, "llmpool_upstream_ttft_seconds_count")).toBe(6);
    expect(metric(text, "llmpool_fallbacks_total")).toBe(2);
    expect(metric(text, "llmpool_retries_total")).toBe(0);
    expect(metric(text, "llmpool_cost_usd_total")).toBeCloseTo(responses.reduce((n, r) => n + r.cost, 0), 12);
    expect(metric(text, "llmpool_in_flight")).toBe(0);
    expect(text).toMatch(/^llmpool_queue_depth 0$/m);
    // Bounded labels only: no tenant, no request id.
    expect(text).not.toMatch(/tenant=|t1|obs-\d/);
  });

  it("filters GetPoolStats by provider and names unknown ones", async () => {
    const one = await s.connect.getPoolStats({ providers: ["b"] });
    expect(one.providers.map((p) => p.name)).toEqual(["b"]);
    expect(one.costByProvider.map((c) => c.key)).toEqual(["b"]);
    expect(Number(one.totals!.requests)).toBe(18); // totals stay pool-wide
    const err = await s.connect.getPoolStats({ providers: ["b", "nope"] }).catch((e) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.InvalidArgument, rawMessage: 'providers[1]: no provider named "nope"' });
  });
});

describe("request ids and logs", () => {
  it("takes x-request-id from the caller or makes one, and returns it", async () => {
    let header = "";
    const res = await s.connect.chat({ messages: [user("id?")] }, { onHeader: (h) => (header = h.get("x-request-id") ?? "") });
    expect(header).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.requestId).toBe(header);
    let streamed = "";
    let first = "";
    for await (const ch of s.grpc.streamChat({ messages: [user("id")] }, { headers: { "x-request-id": "stream-id-1" }, onHeader: (h) => (streamed = h.get("x-request-id") ?? "") })) {
      first ||= ch.requestId;
    }
    expect(streamed).toBe("stream-id-1");
    expect(first).toBe("stream-id-1");
  });

  it("writes one JSON line per call with id, provider, attempts, latency, tokens, cost, outcome", () => {
    const lines = logLines.map((l) => JSON.parse(l));
    const calls = lines.filter((l) => l.msg === "request" && String(l.request_id).startsWith("obs-"));
    expect(calls.map((l) => l.request_id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `obs-${i}`).sort());
    const first = calls.find((l) => l.request_id === "obs-0")!;
    const r0 = responses[0]!;
    expect(first).toMatchObject({
      level: "info",
      service: "llmpool",
      kind: "chat",
      model: "gpt-4o-mini",
      tenant: "t2",
      provider: r0.provider,
      attempts: 1,
      prompt_tokens: r0.prompt,
      completion_tokens: r0.completion,
      outcome: "ok",
    });
    expect(first.cost_usd).toBeCloseTo(r0.cost, 15);
    expect(first.latency_ms).toBeGreaterThan(0);
    expect(typeof first.time).toBe("string");
    // The calls b failed show both providers and the fallback.
    expect(calls.filter((l) => l.attempts === 2 && l.fallbacks === 1 && l.providers_tried[0] === "b")).toHaveLength(2);
  });

  it("at debug level logs every selection with each candidate and its score", () => {
    const picks = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === "selection");
    // One selection per upstream attempt: 20 so far (and more from later tests).
    expect(picks.length).toBeGreaterThanOrEqual(20);
    const p = picks.find((l) => l.request_id === "obs-1")!;
    expect(p).toMatchObject({ level: "debug", strategy: "round_robin", attempt: 1, model: "gpt-4o-mini" });
    expect(p.candidates.map((c: { provider: string }) => c.provider).sort()).toEqual(["a", "b", "c"]);
    expect(p.candidates[0]).toHaveProperty("score"); // null: round robin does not score
    expect(Object.keys(p.candidates[0]).sort()).toEqual(["error_rate", "ewma_ms", "in_flight", "priority", "provider", "score", "weight"]);
    expect(["a", "b", "c"]).toContain(p.chosen);
  });

  it("never logs an API key, even one an upstream echoes back", async () => {
    // The upstream echoes the key in its error, and the request fails with that error.
    ups[0]!.behave({ status: 401, errorBody: { error: { message: `Incorrect API key provided: ${keys("a")}` } } });
    const err = await s.connect
      .chat({ model: "gpt-4o-mini", messages: [user("x")], routing: { provider: "a", onlyProvider: true } }, { headers: { "x-request-id": "leak-1" } })
      .catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).rawMessage).toContain("Incorrect API key provided: [REDACTED]");
    const failed = logLines.map((l) => JSON.parse(l)).find((l) => l.request_id === "leak-1")!;
    expect(failed).toMatchObject({ level: "warn", msg: "request failed", outcome: "unavailable", provider: "a" });
    expect(failed.error).toContain("Incorrect API key provided: [REDACTED]");
    expect(logLines.length).toBeGreaterThan(40); // 20 selections, 21 calls and more
    for (const line of logLines) {
      for (const name of ["a", "b", "c"]) expect(line).not.toContain(keys(name));
    }
    const stats = await s.connect.getPoolStats({});
    expect(JSON.stringify(stats, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toMatch(/sk-test-/);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).not.toMatch(/sk-test-/);
  });
});
