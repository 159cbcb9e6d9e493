import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { cacheKey } from "./key.js";

const req = (o: Record<string, unknown> = {}) => create(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: "hi" }], ...o });

describe("cache key", () => {
  it("ignores routing, metadata and user; keys on model, messages, sampling and tools", () => {
    const base = cacheKey(req());
    expect(cacheKey(req({ metadata: { tenant: "a" }, routing: { provider: "p" }, user: "u" }))).toBe(base);
    for (const other of [
      { model: "m2" },
      { messages: [{ role: "user", content: "hi!" }] },
      { messages: [{ role: "system", content: "hi" }] },
      { temperature: 0.5 },
      { maxTokens: 10 },
      { topP: 0.9 },
      { stop: ["x"] },
      { seed: 1n },
      { tools: [{ name: "f", description: "" }] },
      { responseFormat: { type: "json_object" } },
    ]) {
      expect(cacheKey(req(other)), JSON.stringify(other, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toBe(base);
    }
    // temperature 0 set is not the same request as temperature unset.
    expect(cacheKey(req({ temperature: 0 }))).not.toBe(base);
  });
});
