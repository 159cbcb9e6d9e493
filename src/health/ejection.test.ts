import { describe, expect, it } from "vitest";
import { makeEndpoint } from "../../test/helpers/endpoints.js";
import type { Endpoint } from "../pool/endpoint.js";
import { ProviderError, type ProviderErrorKind } from "../core/errors.js";
import { createFakeClock } from "../util/clock.js";
import { Ejector } from "./ejection.js";

const fail = (kind: ProviderErrorKind) => ({ ok: false, latencyMs: 1, error: new ProviderError({ provider: "x", kind, message: kind }) });
const ok = { ok: true, latencyMs: 1 };
const cfg = { enabled: true, consecutive_errors: 3, base_ejection_time_ms: 1000, max_ejection_time_ms: 2500, max_ejection_percent: 50 };

function setup(n = 4, c = cfg) {
  const clock = createFakeClock();
  const eps = Array.from({ length: n }, (_, i) => makeEndpoint(`p${i}`, clock));
  const ejected: string[] = [];
  const ej = new Ejector<Endpoint>(() => c, () => eps, (e) => ejected.push(e.name));
  for (const e of eps) e.watchedBy([ej]);
  const hit = (e: Endpoint, o: typeof ok | ReturnType<typeof fail>, times = 1) => {
    for (let i = 0; i < times; i++) ej.observe(e, o, clock.now());
  };
  return { clock, eps, ej, ejected, hit };
}

describe("Ejector", () => {
  it("ejects after consecutive 5xx or connection errors, for base × ejections, capped", () => {
    const { clock, eps, ej, hit } = setup();
    const e = eps[0]!;
    hit(e, fail("server"), 2);
    hit(e, ok);
    hit(e, fail("connect"), 2);
    expect(e.healthy).toBe(true); // the success reset the streak
    hit(e, fail("overloaded"));
    expect(e.healthy).toBe(false);
    expect(ej.ejections(e)).toBe(1);
    expect(e.unavailableReason).toMatch(/^ejected as an outlier for 1000 ms more/);
    clock.advance(1000);
    expect(e.healthy).toBe(true);
    hit(e, fail("timeout"), 3);
    expect(ej.stateOf(e).until - clock.now()).toBe(2000); // second in a row: twice as long
    clock.advance(2000);
    hit(e, fail("stream"), 3);
    expect(ej.stateOf(e).until - clock.now()).toBe(2500); // capped at max_ejection_time_ms
  });

  it("does not count failures that say nothing about the provider's health", () => {
    const { eps, ej, hit } = setup();
    for (const k of ["rate_limited", "bad_request", "auth", "context_length", "invalid_response"] as const) hit(eps[0]!, fail(k), 5);
    expect(eps[0]!.healthy).toBe(true);
    expect(ej.stateOf(eps[0]!).streak).toBe(0);
  });

  it("never ejects more than max_ejection_percent of the pool", () => {
    const { eps, hit, ejected } = setup(4);
    for (const e of eps) hit(e, fail("server"), 3);
    expect(ejected).toEqual(["p0", "p1"]); // 2 of 4 = 50%
    expect(eps.filter((e) => e.healthy).map((e) => e.name)).toEqual(["p2", "p3"]);
  });

  it("decays the multiplier after a base period back in rotation", () => {
    const { clock, eps, ej, hit } = setup();
    const e = eps[0]!;
    hit(e, fail("server"), 3);
    clock.advance(1000);
    hit(e, fail("server"), 3);
    expect(ej.stateOf(e).level).toBe(2);
    clock.advance(2000 + 1000); // served well for a base period after the ejection ended
    hit(e, ok);
    expect(ej.stateOf(e).level).toBe(1);
    clock.advance(1000);
    hit(e, ok);
    expect(ej.stateOf(e).level).toBe(0);
    hit(e, fail("server"), 3);
    expect(ej.stateOf(e).until - clock.now()).toBe(1000);
  });

  it("does nothing when disabled", () => {
    const { eps, hit } = setup(4, { ...cfg, enabled: false });
    hit(eps[0]!, fail("server"), 10);
    expect(eps[0]!.healthy).toBe(true);
  });
});
