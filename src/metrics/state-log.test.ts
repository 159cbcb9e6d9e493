import { describe, expect, it } from "vitest";
import { ProviderState } from "../../gen/llmpool/v1/llmpool_pb.js";
import { createStateLog, type StatefulEndpoint } from "./state-log.js";

const ep = (name: string, state: ProviderState, unavailableReason = "", lastError = ""): StatefulEndpoint => ({ name, state, unavailableReason, lastError });

describe("state log", () => {
  it("records each change with its time and reason, not the first sight", () => {
    let t = 1_000;
    const log = createStateLog({ now: () => t });
    log.sweep([ep("a", ProviderState.HEALTHY)]);
    expect(log.changes("a")).toEqual([]);
    t = 2_000;
    log.sweep([ep("a", ProviderState.EJECTED, "ejected for 30 s", "server (HTTP 500): boom")]);
    t = 3_000;
    log.sweep([ep("a", ProviderState.EJECTED, "ejected for 30 s")]); // unchanged: nothing new
    log.sweep([ep("a", ProviderState.BREAKER_HALF_OPEN, "", "server (HTTP 500): boom")]);
    t = 4_000;
    log.sweep([ep("a", ProviderState.HEALTHY, "", "server (HTTP 500): boom")]);
    expect(log.changes("a")).toEqual([
      { atUnixMs: 2_000, fromState: ProviderState.HEALTHY, toState: ProviderState.EJECTED, reason: "ejected for 30 s" },
      { atUnixMs: 3_000, fromState: ProviderState.EJECTED, toState: ProviderState.BREAKER_HALF_OPEN, reason: "server (HTTP 500): boom" },
      { atUnixMs: 4_000, fromState: ProviderState.BREAKER_HALF_OPEN, toState: ProviderState.HEALTHY, reason: "" },
    ]);
  });

  it("keeps at most `keep` changes and forgets providers that left the config", () => {
    const log = createStateLog({ keep: 3 });
    const states = [ProviderState.HEALTHY, ProviderState.DEGRADED];
    for (let i = 0; i < 10; i++) log.sweep([ep("a", states[i % 2]!), ep("b", ProviderState.HEALTHY)]);
    expect(log.changes("a")).toHaveLength(3);
    log.sweep([ep("b", ProviderState.HEALTHY)]);
    expect(log.changes("a")).toEqual([]);
  });

  it("reads the state after each attempt, as a pool observer", () => {
    const log = createStateLog();
    const e = { ...ep("a", ProviderState.HEALTHY) };
    log.observer.attemptEnded!({} as never, e as never, {} as never);
    e.state = ProviderState.BREAKER_OPEN;
    e.unavailableReason = "breaker open";
    log.observer.attemptEnded!({} as never, e as never, {} as never);
    expect(log.changes("a").map((c) => [c.toState, c.reason])).toEqual([[ProviderState.BREAKER_OPEN, "breaker open"]]);
  });
});
