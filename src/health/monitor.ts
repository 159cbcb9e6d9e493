/**
 * Active health checks: every `pool.health_check_interval_s` (±10% jitter, so a fleet does not
 * probe in step) each provider is probed with its adapter's cheap check (`probe()`: GET
 * /models for OpenAI-compatible APIs) or, with `health_check.probe: chat` or for adapters
 * without one, a one-token chat request. `unhealthy_threshold` failures in a row take a
 * provider out of rotation (state UNHEALTHY), `healthy_threshold` passes bring it back.
 *
 * A probe that reaches the upstream and is refused for reasons that say nothing about its
 * health (429, 403, 404 on the models list) counts as a pass: the upstream is up.
 */
import { setMaxListeners } from "node:events";
import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { PoolConfig } from "../config/schema.js";
import type { EndpointMechanism, MechanismState } from "../core/mechanism.js";
import type { Endpoint } from "../pool/endpoint.js";
import { ProviderError, type ProviderErrorKind } from "../core/errors.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";

/** Per-endpoint probe state (kept here by endpoint, so it survives a reload that keeps it). */
export interface ProbeState {
  failures: number;
  successes: number;
  /** Out of rotation until probes pass again. */
  unhealthy: boolean;
  /** The last failed probe, "" after a pass. */
  error: string;
  /** Probes run (for stats and tests). */
  runs: number;
}

/** Probe failures that say the upstream is unwell. */
const UNWELL: ReadonlySet<ProviderErrorKind> = new Set(["connect", "timeout", "server", "overloaded", "stream", "invalid_response"]);

export interface HealthMonitorOptions {
  endpoints: () => readonly Endpoint[];
  config: () => PoolConfig;
  clock: Clock;
  random?: () => number;
  logger?: Logger;
  /** A probe passed: the breakers take it as a half-open trial (src/health/breaker.ts). */
  onProbePassed?: (e: Endpoint) => void;
}

const PROBE_REQUEST = create(ChatRequestSchema, { messages: [{ role: "user", content: "ping" }], maxTokens: 1 });

const NEVER_PROBED: Readonly<ProbeState> = Object.freeze({ failures: 0, successes: 0, unhealthy: false, error: "", runs: 0 });

export class HealthMonitor implements EndpointMechanism<Endpoint> {
  readonly name = "health_check";
  private readonly byEndpoint = new Map<Endpoint, ProbeState>();
  private cancelTimer?: () => void;
  private running?: AbortController;
  private stopped = true;

  constructor(private readonly opts: HealthMonitorOptions) {}

  /** `e`'s probe record (all zero before its first probe). */
  stateOf(e: Endpoint): Readonly<ProbeState> {
    return this.byEndpoint.get(e) ?? NEVER_PROBED;
  }

  /** Failing probes take it out; a failed probe below the threshold only degrades it. */
  state(e: Endpoint): MechanismState | undefined {
    const s = this.byEndpoint.get(e);
    if (s === undefined) return undefined;
    return s.unhealthy ? "unhealthy" : s.failures > 0 ? "degraded" : undefined;
  }

  reason(): string {
    return "failing health checks";
  }

  /** `e` left the pool for good. */
  dispose(e: Endpoint): void {
    this.byEndpoint.delete(e);
  }

  /** Probe now, then every interval until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.running?.abort();
  }

  private schedule(ms: number): void {
    this.cancelTimer?.();
    this.cancelTimer = this.opts.clock.setTimeout(() => {
      void this.checkNow().finally(() => {
        if (this.stopped) return;
        const base = this.opts.config().health_check_interval_s * 1000;
        const jitter = 1 + ((this.opts.random ?? Math.random)() - 0.5) * 0.2;
        this.schedule(base * jitter);
      });
    }, ms);
  }

  /** One round: probe every enabled provider at once. */
  async checkNow(): Promise<void> {
    const ac = new AbortController();
    setMaxListeners(0, ac.signal); // one listener per provider probed: more than 10 is no leak
    this.running = ac;
    const targets = this.opts.endpoints().filter((e) => e.config.enabled && e.config.health_check.enabled && !e.disabledReason && !e.retired);
    await Promise.all(targets.map((e) => this.probe(e, ac.signal)));
    if (this.running === ac) this.running = undefined;
  }

  /** Probe one provider and update its state. */
  async probe(e: Endpoint, parent: AbortSignal): Promise<void> {
    const cfg = this.opts.config().health_check;
    const ac = new AbortController();
    const onAbort = () => ac.abort(parent.reason);
    parent.addEventListener("abort", onAbort, { once: true });
    const cancel = this.opts.clock.setTimeout(
      () => ac.abort(new ProviderError({ provider: e.name, kind: "timeout", message: `health check took over ${cfg.timeout_ms} ms` })),
      cfg.timeout_ms,
    );
    let failure: ProviderError | undefined;
    try {
      await runProbe(e, ac.signal);
    } catch (err) {
      failure = ProviderError.from(err, e.name);
    } finally {
      cancel();
      parent.removeEventListener("abort", onAbort);
    }
    if (parent.aborted) return;
    let s = this.byEndpoint.get(e);
    if (s === undefined) this.byEndpoint.set(e, (s = { ...NEVER_PROBED }));
    s.runs++;
    if (failure && (UNWELL.has(failure.kind) || (failure.kind === "auth" && failure.status === 401))) {
      s.successes = 0;
      s.failures++;
      s.error = failure.describe();
      e.lastError = `health check: ${s.error}`;
      if (!s.unhealthy && s.failures >= cfg.unhealthy_threshold) {
        s.unhealthy = true;
        this.opts.logger?.warn({ provider: e.name, error: s.error, failures: s.failures }, "provider failing health checks: out of rotation");
      }
      return;
    }
    s.failures = 0;
    s.error = "";
    s.successes++;
    this.opts.onProbePassed?.(e);
    if (s.unhealthy && s.successes >= cfg.healthy_threshold) {
      s.unhealthy = false;
      this.opts.logger?.info({ provider: e.name }, "provider passing health checks again: back in rotation");
    }
  }
}

/** The probe a provider's config asks for. */
async function runProbe(e: Endpoint, signal: AbortSignal): Promise<void> {
  const hc = e.config.health_check;
  if (hc.probe === "default" && e.provider.probe) return e.provider.probe(signal);
  const first = e.models.values().next().value;
  const model = hc.model ? (e.models.get(hc.model) ?? hc.model) : first;
  if (!model) return; // nothing to ask for (models not discovered yet): no verdict
  await e.provider.chat({ request: PROBE_REQUEST, model, signal, requestId: "llmpool-health-check" });
}
