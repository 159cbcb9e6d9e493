/**
 * Bedrock adapter against its fake: SigV4 verified by the fake from the secret (session token,
 * wrong secret, environment credentials, bearer API keys), model ids with ':' in the path,
 * Converse mapping, ConverseStream event-stream frames and exception frames, error types,
 * image URLs refused, discovery from the control plane.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { startFakeBedrock } from "../helpers/fake-bedrock.js";
import type { Fake } from "../helpers/fake-upstream.js";
import { startServer } from "../helpers/server.js";
import { AWS } from "./table.js";
import { adapterFor, callOf, collect, providerError, textOf, user } from "./util.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0";
async function fake(keys = AWS, region = "eu-west-1"): Promise<Fake> {
  const f = await startFakeBedrock("bedrock", keys, region, [MODEL, "amazon.nova-lite-v1:0"]);
  cleanup.push(() => f.close());
  return f;
}
const cfg = (f: Fake, extra: Record<string, unknown> = {}) => ({
  name: "br",
  type: "bedrock",
  base_url: f.origin,
  region: "eu-west-1",
  aws_access_key_id: AWS.accessKeyId,
  aws_secret_access_key: AWS.secretAccessKey,
  models: { claude: MODEL },
  ...extra,
});

describe("bedrock adapter", () => {
  it("signs Converse with SigV4 (checked by the fake) and maps the request", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    const r = await p.chat(
      callOf({ messages: [{ role: "system", content: "Be terse." }, user("hi")], maxTokens: 20, temperature: 0.5, topP: 0.9, stop: ["\n"], tools: [{ name: "t" }], toolChoice: { mode: "required" } }, MODEL),
    );
    expect(r).toMatchObject({ id: "req-bedrock-1", content: "Hello from bedrock", finishReason: "stop", rawFinishReason: "end_turn" });
    const rec = f.chatRequests()[0]!;
    expect(rec.path).toBe("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse");
    expect(rec.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFAKEEXAMPLE00001\/\d{8}\/eu-west-1\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);
    expect(rec.body).toEqual({
      messages: [{ role: "user", content: [{ text: "hi" }] }],
      system: [{ text: "Be terse." }],
      inferenceConfig: { maxTokens: 20, temperature: 0.5, topP: 0.9, stopSequences: ["\n"] },
      toolConfig: { tools: [{ toolSpec: { name: "t", inputSchema: { json: { type: "object", properties: {} } } } }], toolChoice: { any: {} } },
    });
  });

  it("rejects a wrong secret as a bad key (403 InvalidSignatureException), never echoing it", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f, { aws_secret_access_key: "not-the-secret-000000000000000000000000" }));
    cleanup.push(() => p.close());
    const e = await providerError(p.chat(callOf({ messages: [user("hi")] }, MODEL)));
    expect(e).toMatchObject({ kind: "auth", scope: "provider", status: 403 });
    expect(e.message).toMatch(/^InvalidSignatureException: The request signature we calculated does not match/);
  });

  it("uses AWS_* environment credentials with a session token, and bearer API keys", async () => {
    const keys = { ...AWS, sessionToken: "FwoGZXIvYXdzEFAKESESSIONTOKEN0123456789" };
    const f = await fake(keys, "us-west-2");
    const env = { AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey, AWS_SESSION_TOKEN: keys.sessionToken, AWS_REGION: "us-west-2" };
    // Nothing in the config: region and credentials come from the standard variables.
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    try {
      const q = adapterFor({ name: "br", type: "bedrock", base_url: f.origin, models: [MODEL] });
      cleanup.push(() => q.close());
      await q.chat(callOf({ messages: [user("hi")] }, MODEL));
      expect(f.chatRequests()[0]!.headers["x-amz-security-token"]).toBe(keys.sessionToken);
      expect(f.chatRequests()[0]!.headers.authorization).toContain("/us-west-2/bedrock/aws4_request");
    } finally {
      vi.unstubAllEnvs();
    }
    const bearer = adapterFor({ name: "br2", type: "bedrock", base_url: f.origin, region: "us-west-2", api_key: keys.secretAccessKey, models: [MODEL] });
    cleanup.push(() => bearer.close());
    await bearer.chat(callOf({ messages: [user("hi")] }, MODEL));
    expect(f.chatRequests()[1]!.headers.authorization).toBe(`Bearer ${keys.secretAccessKey}`);
  });

  it("decodes ConverseStream event-stream frames, tool deltas and usage with cache reads", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ chunks: ["Hel", "lo"], usage: { prompt: 20, completion: 2, cached: 15 } });
    const events = await collect(p.stream(callOf({ messages: [user("hi")] }, MODEL)));
    expect(f.chatRequests()[0]!.path).toBe("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream");
    expect(textOf(events)).toBe("Hello");
    expect(events[0]).toMatchObject({ id: "req-bedrock-1", model: MODEL });
    expect(events.at(-1)!.usage).toEqual({ promptTokens: 20, completionTokens: 2, cachedTokens: 15 });
    expect(events.find((e) => e.finishReason)).toMatchObject({ finishReason: "stop", rawFinishReason: "end_turn" });
  });

  it("ends the stream on an exception frame with its classified kind, and on truncation", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ chunks: ["a", "b", "c"], errorAfterChunks: 2 });
    const e = await providerError(p.stream(callOf({ messages: [user("hi")] }, MODEL)));
    expect(e).toMatchObject({ kind: "rate_limited", scope: "transient" });
    expect(e.message).toMatch(/throttlingException: Too many tokens/);
    f.behave({ chunks: ["a", "b", "c"], truncateAfterChunks: 2 });
    expect(await providerError(p.stream(callOf({ messages: [user("hi")] }, MODEL)))).toMatchObject({ kind: "stream" });
  });

  it.each([
    [429, "ThrottlingException", "Too many requests, please wait before trying again.", "rate_limited"],
    [400, "ValidationException", "Input is too long for requested model.", "context_length"],
    [400, "ValidationException", "Malformed input request: #: extraneous key [foo] is not permitted", "bad_request"],
    [404, "ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier.", "not_found"],
    [403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", "auth"],
    [503, "ServiceUnavailableException", "Service unavailable.", "overloaded"],
    [424, "ModelErrorException", "The model failed.", "server"],
  ])("classifies %i %s", async (status, type, message, kind) => {
    const f = await fake();
    f.behave({ status, headers: { "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` }, errorBody: { message } });
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    expect(await providerError(p.chat(callOf({ messages: [user("hi")] }, MODEL)))).toMatchObject({ kind, status });
  });

  it("continues a prefill and maps tool results to toolResult blocks", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ reply: " done." });
    const r = await p.chat(
      callOf(
        {
          messages: [user("w?"), { role: "assistant", toolCalls: [{ id: "tu1", name: "w", arguments: '{"c":1}' }] }, { role: "tool", toolCallId: "tu1", content: "sunny" }],
          tools: [{ name: "w" }],
        },
        MODEL,
        "It is ",
      ),
    );
    expect(r.content).toBe("done.");
    expect(f.chatRequests()[0]!.body.messages).toEqual([
      { role: "user", content: [{ text: "w?" }] },
      { role: "assistant", content: [{ toolUse: { toolUseId: "tu1", name: "w", input: { c: 1 } } }] },
      { role: "user", content: [{ toolResult: { toolUseId: "tu1", content: [{ text: "sunny" }] } }] },
      { role: "assistant", content: [{ text: "It is" }] },
    ]);
  });

  it("discovers foundation models and inference profiles, signed for the control plane", async () => {
    const f = await fake();
    // No warmup or health probe: the fake should see exactly the discovery calls.
    const s = await startServer({ pool: { warmup: { enabled: false } }, providers: [cfg(f, { models: [], discover_models: true, health_check: { enabled: false } })] });
    cleanup.push(() => s.close());
    expect((await s.grpc.listModels({})).models.map((m) => m.name)).toEqual([MODEL, "amazon.nova-lite-v1:0", `us.${MODEL}`].sort());
    expect(f.requests.map((r) => r.path)).toEqual(["/foundation-models?byOutputModality=TEXT&byInferenceType=ON_DEMAND", "/inference-profiles?maxResults=1000"]);
  });
});
