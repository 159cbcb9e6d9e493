/**
 * Paper cuts seen on start and on failure: no MaxListenersExceededWarning with more than ten
 * providers, the warmup log does not count unreachable providers as warmed, and a failed stream
 * carries x-llmpool-attempts once ("2", not "2, 2") in every protocol.
 */
import { ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../src/util/logger.js";
import { harness } from "./helpers/harness.js";
import { openaiProvider, user } from "./helpers/server.js";

const h = harness();
const warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
process.on("warning", onWarning);
afterEach(() => {
  warnings.length = 0;
});

describe("start-up and failure paper cuts", () => {
  it("12 providers, 6 unreachable: no listener warning, warmup names the failed ones", async () => {
    const fakes = await h.fakes("u0", "u1", "u2", "u3", "u4", "u5");
    const dead = await h.fakes("d0", "d1", "d2", "d3", "d4", "d5");
    for (const d of dead) await d.kill();
    const lines: Record<string, any>[] = [];
    const logger = createLogger("info", { write: (s: string) => void lines.push(JSON.parse(s)) });
    const s = await h.serve(
      {
        log: { level: "info" },
        pool: { warmup: { enabled: true, concurrency: 12 }, health_check_interval_s: 5 },
        providers: [...fakes.map((f) => openaiProvider(f.name, f.url)), ...dead.map((f) => openaiProvider(f.name, f.url))],
      },
      { logger },
    );
    await s.server.pool.resilience.monitor.checkNow();
    await new Promise((r) => setImmediate(r));
    const warm = lines.find((l) => l.msg === "warmup done")!;
    expect([...warm.warmed].sort()).toEqual(["u0", "u1", "u2", "u3", "u4", "u5"]);
    expect([...warm.failed].sort()).toEqual(["d0", "d1", "d2", "d3", "d4", "d5"]);
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
  });

  it("a failed stream says x-llmpool-attempts once", async () => {
    const [a, b] = await h.fakes("a", "b");
    a!.behave({ status: 503 });
    b!.behave({ status: 503 });
    const s = await h.serve({ pool: { max_retries: 1, retry_backoff_ms: { initial: 1, max: 2 } }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    for (const client of [s.connect, s.grpc, s.grpcWeb]) {
      let err: ConnectError | undefined;
      try {
        for await (const _ of client.streamChat({ messages: [user("hi")] }));
      } catch (e) {
        err = ConnectError.from(e);
      }
      expect(err?.metadata.get("x-llmpool-attempts")).toBe("2");
    }
  });
});
