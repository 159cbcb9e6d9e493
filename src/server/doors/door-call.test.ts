/**
 * Door error replies: gRPC codes become the HTTP statuses the SDKs expect, with retry headers,
 * in each door's body shape.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { PoolError } from "../../core/errors.js";
import { anthropicError } from "./anthropic/response.js";
import { doorError, sendError } from "./door-call.js";
import { ollamaError } from "./ollama/response.js";
import { openaiError } from "./openai/response.js";

let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** Answers one request with `err` in `shape`, returns status, headers and body. */
async function reply(err: unknown, shape: (e: ReturnType<typeof doorError>["error"], status: number) => unknown) {
  server = http.createServer((_req, res) => {
    const { error, status } = doorError(err);
    sendError(res, status, error, shape(error, status));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return { status: res.status, retryAfter: res.headers.get("retry-after"), retryAfterMs: res.headers.get("retry-after-ms"), body: await res.json() };
}

describe("door errors", () => {
  it("RESOURCE_EXHAUSTED → 429 with retry-after, in OpenAI's shape", async () => {
    const r = await reply(new PoolError("resource_exhausted", "every provider is rate limited", { retryAfterMs: 1500 }), openaiError);
    expect(r).toEqual({
      status: 429,
      retryAfter: "2",
      retryAfterMs: "1500",
      body: { error: { message: "every provider is rate limited", type: "rate_limit_error", param: null, code: "rate_limit_exceeded" } },
    });
  });

  it("UNAVAILABLE → 503 and DEADLINE_EXCEEDED → 504, in Anthropic's and Ollama's shapes", async () => {
    const a = await reply(new PoolError("unavailable", "no provider could serve"), anthropicError);
    expect(a).toMatchObject({ status: 503, body: { type: "error", error: { type: "overloaded_error", message: "no provider could serve" } } });
    await new Promise<void>((r) => server!.close(() => r()));
    const o = await reply(new PoolError("deadline_exceeded", "deadline passed after 2 attempts"), (e) => ollamaError(e));
    expect(o).toMatchObject({ status: 504, body: { error: "deadline passed after 2 attempts" } });
    server = undefined;
  });

  it("INVALID_ARGUMENT names the field as OpenAI's param; anything unexpected is a 500 without internals", async () => {
    const r = await reply(new PoolError("invalid_argument", "messages[2].role: must be one of system, user"), openaiError);
    expect(r).toMatchObject({ status: 400, body: { error: { param: "messages[2].role", type: "invalid_request_error" } } });
    await new Promise<void>((r) => server!.close(() => r()));
    const bug = await reply(new TypeError("x is undefined"), openaiError);
    expect(bug).toMatchObject({ status: 500, body: { error: { type: "server_error" } } });
    expect(bug.body.error.message).toMatch(/^internal error: /);
    server = undefined;
  });
});
