/**
 * A short history of each provider's state changes (GetPoolStats `state_changes`, the
 * dashboard): healthy -> ejected -> half-open -> healthy, with times and reasons. A provider's
 * state is worked out from its mechanisms' verdicts each time it is read (src/pool/endpoint.ts),
 * so the log reads it where it can change: after every upstream attempt (as a pool observer),
 * and on a sweep over all providers (every second, and before each stats snapshot) for the
 * changes that time or a health probe makes. Per provider at most `keep` entries.
 */
import { ProviderState } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { PoolObserver } from "../pool/observer.js";

/** What the log reads of an endpoint (src/pool/endpoint.ts satisfies it). */
export interface StatefulEndpoint {
  readonly name: string;
  readonly state: ProviderState;
  readonly unavailableReason: string;
  readonly lastError: string;
}

export interface StateChangeRecord {
  atUnixMs: number;
  fromState: ProviderState;
  toState: ProviderState;
  reason: string;
}

export interface StateLogOptions {
  /** The providers now configured, swept every `sweepMs` once started. */
  endpoints?: () => Iterable<StatefulEndpoint>;
  /** Sweep period. Default 1000 ms. */
  sweepMs?: number;
  /** Changes kept per provider. Default 50. */
  keep?: number;
  /** Wall clock (default Date.now). */
  now?: () => number;
}

export interface StateLog {
  readonly observer: PoolObserver;
  /** Read each endpoint's state now; forget providers no longer listed. */
  sweep(endpoints: Iterable<StatefulEndpoint>): void;
  /** A provider's changes, oldest first. */
  changes(name: string): readonly StateChangeRecord[];
  /** Take every provider's baseline now, then sweep every `sweepMs` (needs `endpoints`). */
  start(): void;
  stop(): void;
}

const NONE: readonly StateChangeRecord[] = Object.freeze([]);

export function createStateLog(opts: StateLogOptions = {}): StateLog {
  const keep = opts.keep ?? 50;
  const now = opts.now ?? Date.now;
  const last = new Map<string, ProviderState>();
  const logs = new Map<string, StateChangeRecord[]>();

  const observe = (e: StatefulEndpoint) => {
    const to = e.state;
    const from = last.get(e.name);
    if (from === to) return;
    last.set(e.name, to);
    if (from === undefined) return; // first sight: a baseline, not a change
    const reason = e.unavailableReason || (to === ProviderState.HEALTHY ? "" : e.lastError);
    let log = logs.get(e.name);
    if (!log) logs.set(e.name, (log = []));
    log.push({ atUnixMs: now(), fromState: from, toState: to, reason });
    if (log.length > keep) log.splice(0, log.length - keep);
  };

  const sweep = (endpoints: Iterable<StatefulEndpoint>) => {
    const seen = new Set<string>();
    for (const e of endpoints) {
      observe(e);
      seen.add(e.name);
    }
    for (const name of last.keys()) {
      if (!seen.has(name)) {
        last.delete(name);
        logs.delete(name);
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;

  return {
    observer: {
      // After the call only: start() took every provider's baseline, and the server sweeps
      // after a reload, so a provider it adds has one too.
      attemptEnded(_r, endpoint) {
        observe(endpoint);
      },
    },
    start() {
      if (timer || !opts.endpoints) return;
      sweep(opts.endpoints());
      timer = setInterval(() => sweep(opts.endpoints!()), opts.sweepMs ?? 1000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    sweep,
    changes: (name) => logs.get(name) ?? NONE,
  };
}
