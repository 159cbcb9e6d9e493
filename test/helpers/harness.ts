/**
 * Shared test scaffolding: fake upstreams and servers that are closed after each test, and
 * the error a call failed with.
 */
import { ConnectError } from "@connectrpc/connect";
import { afterEach } from "vitest";
import { startFakeOpenAI, type FakeUpstream } from "./fake-openai.js";
import { startServer, type TestServer } from "./server.js";

export interface Harness {
  /** Closers run after each test, newest first. */
  cleanup: (() => Promise<void>)[];
  /** Fake OpenAI-compatible upstreams, one per name. */
  fakes(...names: string[]): Promise<FakeUpstream[]>;
  /** A server from a raw config (see startServer). */
  serve(raw: Record<string, unknown>, opts?: Parameters<typeof startServer>[1]): Promise<TestServer>;
}

/** Call at the top of a test file: registers the afterEach that closes what tests opened. */
export function harness(): Harness {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  return {
    cleanup,
    async fakes(...names) {
      const out = await Promise.all(names.map((n) => startFakeOpenAI(n)));
      for (const f of out) cleanup.push(() => f.close());
      return out;
    },
    async serve(raw, opts) {
      const s = await startServer(raw, opts);
      cleanup.push(() => s.close());
      return s;
    },
  };
}

/** The error `p` fails with (the test fails if it succeeds). */
export async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}
