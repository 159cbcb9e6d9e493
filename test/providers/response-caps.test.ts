/**
 * Upstream answers are read within bounds: a JSON body up to `max_response_bytes`, an error
 * body up to 64 KiB, each stream event up to `max_stream_event_bytes`. Each case sends far
 * more than the cap and checks the classified error, that the upstream stopped being read
 * (bytes it got to send) and that RSS barely moved.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOversize, type FakeOversize } from "../helpers/fake-oversize.js";
import { startServer } from "../helpers/server.js";
import { adapterFor, callOf, collect, providerError, user } from "./util.js";

const MB = 1024 * 1024;
let fake: FakeOversize;

beforeAll(async () => {
  fake = await startFakeOversize();
});
afterAll(() => fake.close());

const ask = { messages: [user("hi")] };

async function rssGrowth<T>(run: () => Promise<T>): Promise<{ value: T; growth: number }> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const value = await run();
  return { value, growth: process.memoryUsage().rss - before };
}

describe("response size caps", () => {
  it("reads a 200 MB error body only up to 64 KiB and still classifies it by status", async () => {
    fake.reply(() => ({ status: 503, contentType: "application/json", prefix: '{"error":{"message":"', fill: "x", total: 200 * MB }));
    const p = adapterFor({ name: "big-err", type: "openai", base_url: fake.url, api_key: "sk-test-000000000000", models: ["m"] });
    try {
      const { value: err, growth } = await rssGrowth(() => providerError(p.chat(callOf(ask, "m"))));
      expect(err.kind).toBe("overloaded");
      expect(err.status).toBe(503);
      expect(err.message).toContain("error body over 65536 bytes");
      expect(fake.sent).toBeLessThan(16 * MB);
      expect(growth).toBeLessThan(64 * MB);
    } finally {
      await p.close();
    }
  });

  it("refuses a 200 MB JSON answer past max_response_bytes (default 8 MiB), naming the cap", async () => {
    fake.reply(() => ({ status: 200, contentType: "application/json", prefix: '{"choices":[{"message":{"content":"', fill: "a", total: 200 * MB }));
    const p = adapterFor({ name: "big-json", type: "openai", base_url: fake.url, api_key: "sk-test-000000000000", models: ["m"] });
    try {
      const { value: err, growth } = await rssGrowth(() => providerError(p.chat(callOf(ask, "m"))));
      expect(err.kind).toBe("invalid_response");
      expect(err.message).toBe(`upstream response body exceeds max_response_bytes (${8 * MB} bytes)`);
      expect(fake.sent).toBeLessThan(24 * MB);
      expect(growth).toBeLessThan(96 * MB);
    } finally {
      await p.close();
    }
  });

  it("refuses an announced oversize body before reading it, with the configured cap", async () => {
    fake.reply(() => ({ status: 200, contentType: "application/json", prefix: "{", fill: " ", total: 4096, announce: true }));
    const p = adapterFor({ name: "small-cap", type: "anthropic", base_url: fake.origin, api_key: "k-0000000000", models: ["m"], max_response_bytes: 1024 });
    try {
      const err = await providerError(p.chat(callOf(ask, "m")));
      expect(err.kind).toBe("invalid_response");
      expect(err.message).toContain("max_response_bytes (1024 bytes)");
    } finally {
      await p.close();
    }
  });

  it("accepts an answer within a small max_response_bytes", async () => {
    const ok = JSON.stringify({ id: "r", choices: [{ message: { content: "fine" }, finish_reason: "stop" }] });
    fake.reply(() => ({ status: 200, contentType: "application/json", prefix: ok, fill: " ", total: ok.length }));
    const p = adapterFor({ name: "fits", type: "groq", base_url: fake.url, api_key: "k-0000000000", models: ["m"], max_response_bytes: 1024 });
    try {
      expect((await p.chat(callOf(ask, "m"))).content).toBe("fine");
    } finally {
      await p.close();
    }
  });

  it("fails an SSE stream whose single event grows past max_stream_event_bytes", async () => {
    fake.reply(() => ({ status: 200, contentType: "text/event-stream", prefix: 'data: {"choices":[{"delta":{"content":"', fill: "a", total: 200 * MB }));
    const p = adapterFor({ name: "big-event", type: "openai", base_url: fake.url, api_key: "sk-test-000000000000", models: ["m"] });
    try {
      const { value: err, growth } = await rssGrowth(() => providerError(p.stream(callOf(ask, "m"))));
      expect(err.kind).toBe("invalid_response");
      expect(err.message).toBe(`upstream stream event exceeds max_stream_event_bytes (${MB} bytes)`);
      expect(fake.sent).toBeLessThan(16 * MB);
      expect(growth).toBeLessThan(64 * MB);
    } finally {
      await p.close();
    }
  });

  it("does not cap a stream's total size: many small events pass a small per-event cap", async () => {
    const ev = 'data: {"choices":[{"delta":{"content":"ab"}}]}\n\n';
    const end = 'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
    const body = ev.repeat(2000) + end;
    fake.reply(() => ({ status: 200, contentType: "text/event-stream", prefix: body, fill: " ", total: body.length }));
    const p = adapterFor({ name: "many-events", type: "openai", base_url: fake.url, api_key: "sk-test-000000000000", models: ["m"], max_stream_event_bytes: 256 });
    try {
      const events = await collect(p.stream(callOf(ask, "m")));
      expect(events.map((e) => e.delta ?? "").join("").length).toBe(4000);
      expect(body.length).toBeGreaterThan(256 * 100);
    } finally {
      await p.close();
    }
  });

  it("fails an NDJSON (ollama) line past the cap", async () => {
    fake.reply(() => ({ status: 200, contentType: "application/x-ndjson", prefix: '{"message":{"content":"', fill: "a", total: 50 * MB }));
    const p = adapterFor({ name: "big-line", type: "ollama", base_url: fake.origin, models: ["m"], max_stream_event_bytes: 65536 });
    try {
      const err = await providerError(p.stream(callOf(ask, "m")));
      expect(err.kind).toBe("invalid_response");
      expect(err.message).toContain("max_stream_event_bytes (65536 bytes)");
      expect(fake.sent).toBeLessThan(8 * MB);
    } finally {
      await p.close();
    }
  });

  it("through the real server: the caller gets UNAVAILABLE naming the cap, the server stays up", async () => {
    fake.reply(() => ({ status: 200, contentType: "application/json", prefix: '{"choices":[{"message":{"content":"', fill: "a", total: 200 * MB }));
    const s = await startServer({
      pool: { max_retries: 0 },
      providers: [{ name: "huge", type: "openai", base_url: fake.url, api_key: "sk-test-000000000000", models: ["m"], max_response_bytes: 65536 }],
    });
    try {
      const err = await s.grpc.chat({ model: "m", messages: [user("hi")] }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.Unavailable);
      expect(err?.rawMessage).toContain("max_response_bytes (65536 bytes)");
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
