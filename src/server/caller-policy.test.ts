import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { PoolError } from "../core/errors.js";
import { createMemoryKeyLimitStore } from "../limits/key-limits.js";
import { createFakeClock } from "../util/clock.js";
import { ANONYMOUS, type CallerIdentity } from "./auth.js";
import { createCallerPolicy, type KeyReservation } from "./caller-policy.js";
import { compileGlob } from "../pool/router.js";

const req = (content = "hello", metadata: Record<string, string> = {}, model = "gpt-4o-mini") =>
  create(ChatRequestSchema, { model, messages: [{ role: "user", content }], metadata });

function setup() {
  const clock = createFakeClock();
  const policy = createCallerPolicy({ store: createMemoryKeyLimitStore(), clock, defaultModel: () => "default-model" });
  return { clock, policy };
}

describe("caller policy", () => {
  it("sets the bound tenant over metadata.tenant and a default priority only when none is sent", () => {
    const { policy } = setup();
    const key: CallerIdentity = { name: "k", tenant: "team-a", priority: -1 };
    const a = req("x", { tenant: "other" });
    policy.admit(key, a);
    expect(a.metadata).toEqual({ tenant: "team-a", priority: "-1" });
    const b = req("x", { priority: "5" });
    policy.admit(key, b);
    expect(b.metadata.priority).toBe("5");
    const c = req("x", { tenant: "free" });
    policy.admit(ANONYMOUS, c);
    expect(c.metadata.tenant).toBe("free");
  });

  it("checks the default model against the key's globs when a request names none", () => {
    const { policy } = setup();
    const key: CallerIdentity = { name: "k", models: [compileGlob("gpt-*", "gpt-*")] };
    expect(() => policy.admit(key, req("x", {}, ""))).toThrow(/may not call model "default-model"/);
    expect(policy.admit(key, req("x", {}, "gpt-4o"))).toBeUndefined();
  });

  it("counts tpm from the prompt estimate, settles to real usage, and frees the window after a minute", () => {
    const { policy, clock } = setup();
    const key: CallerIdentity = { name: "k", tpm: 100 };
    const r = policy.admit(key, req("x".repeat(200))) as KeyReservation; // ~57 tokens
    expect(r.tokens).toBeGreaterThan(50);
    policy.settle(r, 95); // the call really used 95
    let err: unknown;
    try {
      policy.admit(key, req("x".repeat(40)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PoolError);
    expect((err as PoolError).code).toBe("resource_exhausted");
    expect((err as PoolError).extra.retryAfterMs).toBeGreaterThan(0);
    clock.advance(61_000);
    expect(policy.admit(key, req("x".repeat(40)))).toBeDefined();
  });
});
