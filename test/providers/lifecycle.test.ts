/**
 * For every adapter: listModels, probe and warmup against its fake upstream (the hooks model
 * discovery, active health checks and start-up warmup build on), and a probe that fails with a
 * classified, key-free error when the upstream rejects the credentials.
 */
import { describe, expect, it } from "vitest";
import { ProviderError } from "../../src/core/errors.js";
import { ROWS } from "./table.js";
import { adapterFor } from "./util.js";

describe.each(ROWS.map((r) => [r.type, r] as const))("%s lifecycle hooks", (_type, row) => {
  it("lists models, probes and warms up", async () => {
    const { fake, provider } = await row.start();
    const p = adapterFor(provider);
    try {
      const models = await p.listModels!(AbortSignal.timeout(2000));
      expect(models.length).toBeGreaterThan(0);
      const before = fake.requests.length;
      await p.probe!(AbortSignal.timeout(2000));
      expect(fake.requests.length).toBe(before + 1);
      expect(fake.requests.at(-1)!.method).toBe("GET");
      await p.warmup!(AbortSignal.timeout(2000));
      expect(fake.requests.length).toBe(before + 2);
    } finally {
      await p.close();
      await fake.close();
    }
  });
});

describe("probe failures", () => {
  it.each(ROWS.filter((r) => ["azure", "bedrock"].includes(r.type)).map((r) => [r.type, r] as const))(
    "%s: a rejected credential is an auth error without the secret",
    async (_type, row) => {
      const { fake, provider } = await row.start();
      const wrong = row.type === "azure" ? { api_key: "wrong-key-000000000000" } : { aws_secret_access_key: "wrong-secret-0000000000000000000000000" };
      const p = adapterFor({ ...provider, ...wrong });
      try {
        const err = await p.probe!(AbortSignal.timeout(2000)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ProviderError);
        expect(err).toMatchObject({ kind: "auth", scope: "provider" });
        expect((err as Error).message).not.toContain("wrong-");
      } finally {
        await p.close();
        await fake.close();
      }
    },
  );
});
