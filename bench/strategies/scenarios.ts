/**
 * Benchmark scenarios: the upstreams, the load, and the strategies compared on it.
 */
import type { UpstreamSpec } from "./upstream.js";

export interface StrategyRun {
  /** Label in the table. */
  label: string;
  /** pool.strategy ("oracle" runs the oracle). */
  strategy: string;
  /** pool.strategy_options. */
  options?: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  description: string;
  upstreams: (UpstreamSpec & { weight?: number; priority?: number })[];
  /** Requests per second (Poisson arrivals). */
  rate: number;
  durationMs: number;
  runs: StrategyRun[];
}

const EVERY_STRATEGY: StrategyRun[] = [
  { label: "oracle", strategy: "oracle" },
  { label: "round_robin", strategy: "round_robin" },
  { label: "weighted_round_robin", strategy: "weighted_round_robin" },
  { label: "random (weighted)", strategy: "random" },
  { label: "least_connections", strategy: "least_connections" },
  { label: "p2c", strategy: "p2c" },
  { label: "adaptive", strategy: "adaptive" },
  { label: "fastest", strategy: "fastest" },
  { label: "priority", strategy: "priority" },
  { label: "cost", strategy: "cost" },
  { label: "slo (max_p95_ms 800)", strategy: "slo", options: { slo: { max_p95_ms: 800 } } },
  { label: "racing first_wins x2", strategy: "racing", options: { racing: { mode: "first_wins", fanout: 2 } } },
  { label: "racing hedged p95", strategy: "racing", options: { racing: { mode: "hedged" } } },
  { label: "racing weighted x2, grace 50", strategy: "racing", options: { racing: { mode: "weighted", fanout: 2, grace_period_ms: 50 } } },
  { label: "racing weighted x2, grace 200", strategy: "racing", options: { racing: { mode: "weighted", fanout: 2, grace_period_ms: 200 } } },
];

export const SCENARIOS: Scenario[] = [
  {
    name: "mixed",
    description:
      "four upstreams: fast (250 ms median; 4x slower from 60 s to 120 s, then recovers), steady (450 ms), " +
      "slow but cheap (1200 ms), flaky (300 ms, 15% quick 503s); 60 requests/s for 180 s",
    rate: 60,
    durationMs: 180_000,
    upstreams: [
      { name: "fast", medianMs: 250, sigma: 0.25, failureRate: 0.005, failMs: 50, capacity: 24, price: [0.6, 2.4], weight: 2, priority: 1, phases: [{ from: 60_000, to: 120_000, slowdown: 4 }] },
      { name: "steady", medianMs: 450, sigma: 0.15, failureRate: 0.002, failMs: 50, capacity: 48, price: [0.3, 1.2], weight: 2, priority: 2 },
      { name: "slow", medianMs: 1200, sigma: 0.3, failureRate: 0.005, failMs: 50, capacity: 64, price: [0.05, 0.2], weight: 1, priority: 3 },
      { name: "flaky", medianMs: 300, sigma: 0.25, failureRate: 0.15, failMs: 100, capacity: 24, price: [0.1, 0.4], weight: 1, priority: 2 },
    ],
    runs: EVERY_STRATEGY,
  },
  {
    name: "heavy-tail",
    description:
      "three upstreams: tail (200 ms median, but 3% of calls 10-20x slower), steady-a (350 ms), steady-b (500 ms); " +
      "40 requests/s for 120 s",
    rate: 40,
    durationMs: 120_000,
    upstreams: [
      { name: "tail", medianMs: 200, sigma: 0.2, tailShare: 0.03, tailFactor: 10, failureRate: 0.002, failMs: 50, capacity: 64, price: [0.15, 0.6] },
      { name: "steady-a", medianMs: 350, sigma: 0.15, failureRate: 0.002, failMs: 50, capacity: 64, price: [0.3, 1.2] },
      { name: "steady-b", medianMs: 500, sigma: 0.15, failureRate: 0.002, failMs: 50, capacity: 64, price: [0.3, 1.2] },
    ],
    runs: [
      ...EVERY_STRATEGY,
      { label: "racing hedged p95, select round_robin", strategy: "racing", options: { racing: { mode: "hedged", select: "round_robin" } } },
      { label: "racing hedged p95, select cost", strategy: "racing", options: { racing: { mode: "hedged", select: "cost" } } },
    ],
  },
];
