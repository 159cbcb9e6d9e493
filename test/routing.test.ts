/**
 * Routing before the strategy, through the gRPC API: model globs and upstream names,
 * capabilities, per-request overrides, prompt-cache affinity.
 */
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type FakeUpstream } from "./helpers/fake-openai.js";
import { openaiProvider, user } from "./helpers/server.js";
import { harness, failure as error } from "./helpers/harness.js";

const { cleanup, fakes, serve } = harness();

const received = (...ups: FakeUpstream[]) => ups.map((u) => u.chatRequests().length);
const png = { image: { source: { case: "url" as const, value: "data:image/png;base64,iVBORw0KGgo=" } } };

describe("model routing", () => {
  it("routes by glob and sends each provider its own upstream name", async () => {
    const [openai, router] = await fakes("openai", "router");
    const s = await serve({
      pool: { strategy: "round_robin" },
      providers: [
        openaiProvider("openai", openai!.url, { models: ["gpt-4o*"] }),
        openaiProvider("router", router!.url, { models: { "claude-*": "anthropic/claude-*", "gpt-4o-mini": "openai/gpt-4o-mini" } }),
      ],
    });
    const claude = await s.grpc.chat({ model: "claude-3-5-haiku", messages: [user("x")] });
    expect(claude.provider).toBe("router");
    expect(router!.chatRequests()[0]!.body.model).toBe("anthropic/claude-3-5-haiku");
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) seen.add((await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("x")] })).provider);
    expect(seen).toEqual(new Set(["openai", "router"]));
    expect(openai!.chatRequests()[0]!.body.model).toBe("gpt-4o-mini");
    expect(router!.chatRequests()[1]!.body.model).toBe("openai/gpt-4o-mini");
    const err = await error(s.grpc.chat({ model: "llama-3", messages: [user("x")] }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toMatch(/served models: claude-\*, gpt-4o\*, gpt-4o-mini/);
  });
});

describe("capability routing", () => {
  it("sends images only to vision providers, tools only to tool providers, long prompts where they fit", async () => {
    const [small, vision, tools] = await fakes("small", "vision", "tools");
    const s = await serve({
      pool: { strategy: "round_robin" },
      providers: [
        openaiProvider("small", small!.url, { capabilities: { vision: false, tools: false, context_window: 200 } }),
        openaiProvider("vision", vision!.url, { capabilities: { vision: true, tools: false, context_window: 100_000 } }),
        openaiProvider("tools", tools!.url, { capabilities: { vision: false, tools: true, context_window: 100_000 } }),
      ],
    });
    for (let i = 0; i < 3; i++) {
      expect((await s.grpc.chat({ messages: [{ role: "user", parts: [{ part: { case: "text", value: "what is this?" } }, { part: { case: "image", value: png.image } }] }] })).provider).toBe("vision");
      expect((await s.grpc.chat({ messages: [user("weather?")], tools: [{ name: "get_weather" }] })).provider).toBe("tools");
    }
    const long = "word ".repeat(1000);
    const got = new Set<string>();
    for (let i = 0; i < 4; i++) got.add((await s.grpc.chat({ messages: [user(long)] })).provider);
    expect(got).toEqual(new Set(["vision", "tools"]));
    expect(received(small!)).toEqual([0]);
    const err = await error(
      s.grpc.chat({ messages: [{ role: "user", parts: [{ part: { case: "image", value: png.image } }] }], tools: [{ name: "get_weather" }] }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/no provider of model "gpt-4o-mini" can take this request \(images, tools/);
  });
});

describe("per-request overrides", () => {
  it("prefers the provider named by routing.provider or x-llmpool-provider, honours exclusions", async () => {
    const [a, b, c] = await fakes("a", "b", "c");
    const s = await serve({ providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url), openaiProvider("c", c!.url)] });
    for (let i = 0; i < 3; i++) {
      expect((await s.grpc.chat({ messages: [user("x")], routing: { provider: "b" } })).provider).toBe("b");
      const viaHeader = await s.grpc.chat({ messages: [user("x")] }, { headers: { "x-llmpool-provider": "c" } });
      expect(viaHeader.provider).toBe("c");
      expect((await s.grpc.chat({ messages: [user("x")], routing: { excludeProviders: ["a", "b"] } })).provider).toBe("c");
    }
    // Preferred but failing: falls back unless only_provider.
    b!.behave({ status: 503 });
    expect((await s.grpc.chat({ messages: [user("x")], routing: { provider: "b" } })).providersTried[0]).toBe("b");
    const only = await error(s.grpc.chat({ messages: [user("x")], routing: { provider: "b", onlyProvider: true } }));
    expect(only.code).toBe(Code.Unavailable);
    const bad: [{ routing: { excludeProviders?: string[]; strategy?: string } }, RegExp][] = [
      [{ routing: { excludeProviders: ["zzz"] } }, /routing\.exclude_providers\[0\]: no provider named "zzz"/],
      [{ routing: { strategy: "fastest-ever" } }, /routing\.strategy: unknown strategy "fastest-ever"; available: round_robin/],
    ];
    for (const [extra, msg] of bad) {
      const err = await error(s.grpc.chat({ messages: [user("x")], ...extra }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(msg);
    }
    const header = await error(s.grpc.chat({ messages: [user("x")] }, { headers: { "x-llmpool-provider": "nope" } }));
    expect([header.code, header.rawMessage]).toEqual([Code.InvalidArgument, 'x-llmpool-provider: no provider named "nope"']);
  });
});

describe("prompt-cache affinity", () => {
  it("keeps an affinity key, or a shared prompt prefix, on one provider while it is healthy", async () => {
    const ups = await fakes("a", "b", "c");
    const s = await serve({
      // best_alternative: a failed attempt's fallback is the strategy's (here: the ring's) choice,
      // so the request that finds its home down lands where the key's later requests will.
      pool: { strategy: "round_robin", fallback: "best_alternative", affinity: { min_prefix_tokens: 50 } },
      providers: ups.map((u) => openaiProvider(u.name, u.url)),
    });
    const homes = new Set<string>();
    for (let i = 0; i < 6; i++) homes.add((await s.grpc.chat({ messages: [user(`q${i}`)], metadata: { affinity_key: "user-42" } })).provider);
    expect(homes.size).toBe(1);
    const explicit = new Set<string>();
    for (let i = 0; i < 6; i++) explicit.add((await s.grpc.chat({ messages: [user(`q${i}`)], routing: { affinityKey: "session-9" } })).provider);
    expect(explicit.size).toBe(1);
    // A long shared system prompt: every question of this conversation lands together.
    const system = { role: "system", content: "You are the support bot of Example Corp. ".repeat(20) };
    const prefixed = new Set<string>();
    for (let i = 0; i < 6; i++) prefixed.add((await s.grpc.chat({ messages: [system, user("my order is late"), { role: "assistant", content: "Sorry!" }, user(`follow-up ${i}`)] })).provider);
    expect(prefixed.size).toBe(1);
    // Without a key, round robin spreads as usual.
    const spread = new Set<string>();
    for (let i = 0; i < 3; i++) spread.add((await s.grpc.chat({ messages: [user("x")] })).provider);
    expect(spread.size).toBe(3);
    // The home fails: its keys move on to the next provider on the ring, and stay there.
    const home = [...homes][0]!;
    ups.find((u) => u.name === home)!.behave({ status: 401, errorBody: { error: { message: "bad key" } } });
    const moved = new Set<string>();
    for (let i = 0; i < 4; i++) moved.add((await s.grpc.chat({ messages: [user(`q${i}`)], metadata: { affinity_key: "user-42" } })).provider);
    expect(moved.size).toBe(1);
    expect(moved.has(home)).toBe(false);
  });

  it("is off when pool.affinity.enabled is false", async () => {
    const ups = await fakes("a", "b");
    const s = await serve({ pool: { strategy: "round_robin", affinity: { enabled: false } }, providers: ups.map((u) => openaiProvider(u.name, u.url)) });
    const got = new Set<string>();
    for (let i = 0; i < 4; i++) got.add((await s.grpc.chat({ messages: [user("x")], metadata: { affinity_key: "k" } })).provider);
    expect(got.size).toBe(2);
  });
});
