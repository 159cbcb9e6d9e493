/**
 * A health probe answered 404 means base_url points where these APIs are not (most often an
 * OpenAI-compatible URL without /v1): the probe fails with a hint, and the health monitor
 * takes the provider out of rotation instead of counting the answer as "up".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/config/load.js";
import { createAdapter } from "../../src/providers/registry.js";
import { Endpoint } from "../../src/pool/endpoint.js";
import { HealthMonitor } from "../../src/health/monitor.js";
import { systemClock } from "../../src/util/clock.js";
import { startFakeOversize, type FakeOversize } from "../helpers/fake-oversize.js";
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

  it("takes the provider out of rotation through the health monitor", async () => {
    const { config } = validateConfig(
      {
        pool: { health_check: { unhealthy_threshold: 1, healthy_threshold: 1, timeout_ms: 2000 } },
        providers: [{ name: "nov1", type: "openai", base_url: fake.origin, api_key: "sk-test-000000000000", models: ["m"] }],
      },
      "test",
      {},
    );
    const cfg = config.providers[0]!;
    const provider = createAdapter(cfg, { member: () => { throw new Error("no members"); } });
    const e = new Endpoint(cfg, provider, systemClock);
    const monitor = new HealthMonitor({ endpoints: () => [e], config: () => config.pool, clock: systemClock });
    try {
      await monitor.checkNow();
      expect(e.probe.unhealthy).toBe(true);
      expect(e.healthy).toBe(false);
      expect(e.probe.error).toContain("base_url may lack /v1");
    } finally {
      monitor.stop();
      await provider.close();
    }
  });
});
