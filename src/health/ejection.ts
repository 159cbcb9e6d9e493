/**
 * Passive outlier ejection (Envoy's outlier detection): `consecutive_errors` 5xx, connection
 * or timeout failures in a row eject a provider for `base_ejection_time_ms` times the number
 * of ejections in a row (capped at `max_ejection_time_ms`), and never more than
 * `max_ejection_percent` of the pool's providers at once. Ejection ends by time alone; the
 * multiplier decays by one for each base period a provider spends back in rotation.
 * No timers: state is read against the clock when asked.
 */
import type { OutlierConfig } from "../config/schema.js";
import type { CallOutcome, Endpoint } from "../pool/endpoint.js";
import type { ProviderErrorKind } from "../core/errors.js";

/** Failures that say the provider itself is unwell (Envoy: 5xx and local-origin errors). */
const EJECTING: ReadonlySet<ProviderErrorKind> = new Set(["connect", "timeout", "server", "overloaded", "stream"]);

/** Per-endpoint ejection state (lives on the endpoint, so it survives a reload). */
export interface EjectionState {
  /** Ejecting failures in a row. */
  streak: number;
  /** Ejections in a row: the next one lasts (level + 1) × base. */
  level: number;
  /** Monotonic ms until which the endpoint is ejected (0 = not ejected). */
  until: number;
}

export class Ejector {
  constructor(
    private readonly config: () => OutlierConfig,
    private readonly endpoints: () => readonly Endpoint[],
    private readonly onEject?: (e: Endpoint, ms: number) => void,
  ) {}

  /** Record an ended call; may eject the endpoint. */
  observe(e: Endpoint, o: CallOutcome, now: number): void {
    const cfg = this.config();
    const s = e.ejection;
    if (o.canceled) return;
    if (o.ok) {
      s.streak = 0;
      // Decay: one level per base period spent in rotation since the last ejection ended.
      if (s.level > 0 && s.until > 0 && now - s.until >= cfg.base_ejection_time_ms) {
        s.level--;
        s.until = s.level > 0 ? now : 0;
      }
      return;
    }
    if (!cfg.enabled || !o.error || !EJECTING.has(o.error.kind)) return;
    if (now < s.until) return; // already ejected (a call that was in flight)
    if (++s.streak < cfg.consecutive_errors) return;
    if (!this.mayEject(now, cfg)) return;
    s.streak = 0;
    s.level++;
    const ms = Math.min(cfg.max_ejection_time_ms, cfg.base_ejection_time_ms * s.level);
    s.until = now + ms;
    e.ejections++;
    this.onEject?.(e, ms);
  }

  /** Whether one more ejection stays within max_ejection_percent of the pool. */
  private mayEject(now: number, cfg: OutlierConfig): boolean {
    const all = this.endpoints();
    let ejected = 0;
    for (const x of all) if (x.ejection.until > now) ejected++;
    return ejected + 1 <= Math.floor((all.length * cfg.max_ejection_percent) / 100);
  }
}
