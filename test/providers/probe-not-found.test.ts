/**
 * A health probe answered 404 means base_url points where these APIs are not (most often an
 * OpenAI-compatible URL without /v1): the probe fails with a hint, and the health monitor
 * takes the provider out of rotation instead of counting the answer as "up".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderState } from "../../gen/llmpool/v1/llmpool_pb.js";
import { startFakeOversize, type FakeOversize } from "../helpers/fake-oversize.js";
import { startServer } from "../helpers/server.js";
import { adapterFor, providerError } from "./util.js";

let fake: FakeOversize;
const models = JSON.stringify({ object: "list", data: [{ id: "m", object: "model" }] });

beforeAll(async () => {
  fake = await startFakeOversize();
  // Like api.openai.com: the models list lives under /v1 only; anything else is a 404.
  fake.reply((path) => (path === "/v1/models" ? { status: 200, contentType: "application/json", prefix: models, fill: " ", total: models.length } : undefined));
});
afterAll(() => fake.close());

describe("probe answered 404", () => {
  it("fails with a hint that base_url may lack /v1", async () => {
    const p = adapterFor({ name: "nov1", type: "openai", base_url: fake.origin, api_key: "sk-test-000000000000", models: ["m"] });
    try {
      const err = await providerError(p.probe!(AbortSignal.timeout(2000)));
      expect(err.status).toBe(404);
      expect(err.kind).toBe("invalid_response");
      expect(err.message).toContain("base_url may lack /v1");
      expect(err.message).toContain("GET /models");
    } finally {
      await p.close();
    }
  });

  it("passes once base_url has /v1", async () => {
    const p = adapterFor({ name: "withv1", type: "vllm", base_url: fake.url, models: ["m"] });
    try {
      await p.probe!(AbortSignal.timeout(2000));
    } finally {
      await p.close();
    }
  });

  it("gives each wire protocol its own hint", async () => {
    const p = adapterFor({ name: "gem", type: "gemini", base_url: fake.origin, api_key: "k-0000000000", models: ["m"] });
    try {
      expect((await providerError(p.probe!(AbortSignal.timeout(2000)))).message).toContain("/v1beta");
    } finally {
      await p.close();
    }
  });

  it("takes the provider out of rotation in the real server, with the hint in its stats", async () => {
    const s = await startServer({
      pool: { health_check: { unhealthy_threshold: 1 } },
      providers: [
        { name: "nov1", type: "openai", base_url: fake.origin, api_key: "sk-test-000000000000", models: ["m"] },
        { name: "ok", type: "openai", base_url: fake.url, api_key: "sk-test-000000000001", models: ["m"] },
      ],
    });
    try {
      const stats = async () => (await s.grpc.getPoolStats({})).providers;
      // The first health round runs at start; its outcome is only visible in the stats.
      const until = Date.now() + 5000;
      while ((await stats()).find((p) => p.name === "nov1")!.state !== ProviderState.UNHEALTHY) {
        if (Date.now() > until) throw new Error("nov1 never marked unhealthy");
        await new Promise((r) => setTimeout(r, 20));
      }
      const [bad, good] = await stats().then((ps) => [ps.find((p) => p.name === "nov1")!, ps.find((p) => p.name === "ok")!]);
      expect(bad.healthy).toBe(false);
      expect(bad.lastError).toContain("base_url may lack /v1");
      expect(good.state).not.toBe(ProviderState.UNHEALTHY);
    } finally {
      await s.close();
    }
  });
});
