/**
 * Passive outlier ejection (Envoy's outlier detection): `consecutive_errors` 5xx, connection
 * or timeout failures in a row eject a provider for `base_ejection_time_ms` times the number
 * of ejections in a row (capped at `max_ejection_time_ms`), and never more than
 * `max_ejection_percent` of the pool's providers at once. Ejection ends by time alone; the
 * multiplier decays by one for each base period a provider spends back in rotation.
 * No timers: state is read against the clock when asked. The state is kept here, by endpoint
 * (so it survives reloads that keep the endpoint); the endpoint only asks for the verdict.
 */
import type { OutlierConfig } from "../config/schema.js";
import type { EndpointMechanism, MechanismState } from "../core/mechanism.js";
import type { CallOutcome } from "../core/outcome.js";
import type { ProviderErrorKind } from "../core/errors.js";

/** Failures that say the provider itself is unwell (Envoy: 5xx and local-origin errors). */
const EJECTING: ReadonlySet<ProviderErrorKind> = new Set(["connect", "timeout", "server", "overloaded", "stream"]);
const NONE: Readonly<EjectionState> = Object.freeze({ streak: 0, level: 0, until: 0, count: 0 });

/** Per-endpoint ejection state. */
export interface EjectionState {
  /** Ejecting failures in a row. */
  streak: number;
  /** Ejections in a row: the next one lasts (level + 1) × base. */
  level: number;
  /** Monotonic ms until which the endpoint is ejected (0 = not ejected). */
  until: number;
  /** Ejections since start (for stats). */
  count: number;
}

export class Ejector<E extends object> implements EndpointMechanism<E> {
  readonly name = "outlier_detection";
  private readonly byEndpoint = new Map<E, EjectionState>();

  constructor(
    private readonly config: () => OutlierConfig,
    private readonly endpoints: () => readonly E[],
    private readonly onEject?: (e: E, ms: number, count: number) => void,
  ) {}

  /** `e`'s ejection state (all zero before its first ejecting failure). */
  stateOf(e: E): Readonly<EjectionState> {
    return this.byEndpoint.get(e) ?? NONE;
  }

  /** Times `e` was ejected since start. */
  ejections(e: E): number {
    return this.byEndpoint.get(e)?.count ?? 0;
  }

  state(e: E, now: number): MechanismState | undefined {
    const s = this.byEndpoint.get(e);
    return s !== undefined && s.until > now ? "ejected" : undefined;
  }

  reason(e: E, now: number): string {
    return `ejected as an outlier for ${Math.ceil(this.stateOf(e).until - now)} ms more`;
  }

  /** `e` left the pool for good. */
  dispose(e: E): void {
    this.byEndpoint.delete(e);
  }

  /** Record an ended call; may eject the endpoint. */
  observe(e: E, o: CallOutcome, now: number): void {
    if (o.canceled) return;
    const cfg = this.config();
    if (!o.ok && (!cfg.enabled || !o.error || !EJECTING.has(o.error.kind))) return;
    let s = this.byEndpoint.get(e);
    if (s === undefined) {
      if (o.ok) return; // nothing to reset or decay yet
      s = { streak: 0, level: 0, until: 0, count: 0 };
      this.byEndpoint.set(e, s);
    }
    if (o.ok) {
      s.streak = 0;
      // Decay: one level per base period spent in rotation since the last ejection ended.
      if (s.level > 0 && s.until > 0 && now - s.until >= cfg.base_ejection_time_ms) {
        s.level--;
        s.until = s.level > 0 ? now : 0;
      }
      return;
    }
    if (now < s.until) return; // already ejected (a call that was in flight)
    if (++s.streak < cfg.consecutive_errors) return;
    if (!this.mayEject(now, cfg)) return;
    s.streak = 0;
    s.level++;
    const ms = Math.min(cfg.max_ejection_time_ms, cfg.base_ejection_time_ms * s.level);
    s.until = now + ms;
    s.count++;
    this.onEject?.(e, ms, s.count);
  }

  /** Whether one more ejection stays within max_ejection_percent of the pool. */
  private mayEject(now: number, cfg: OutlierConfig): boolean {
    const all = this.endpoints();
    let ejected = 0;
    for (const x of all) if (this.stateOf(x).until > now) ejected++;
    return ejected + 1 <= Math.floor((all.length * cfg.max_ejection_percent) / 100);
  }
}
