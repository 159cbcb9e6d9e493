/**
 * Admission when no provider can take a request right now. If what stands in the way is a
 * limit that will lift (max_concurrency, rpm/tpm windows, a 429 cool-down) the request waits
 * in the bounded priority queue until a provider frees a slot, the earliest known limit lifts,
 * `pool.queue.timeout_ms` passes, or the caller gives up; if the earliest lift is known to come
 * too late for its deadline, or the queue is full, it is refused at once with a retry delay.
 * When only sick providers (breaker open, ejected) stand in the way, waiting cannot help.
 */
import type { Endpoint } from "../pool/endpoint.js";
import type { GateBlock } from "../core/gate.js";
import type { Clock } from "../util/clock.js";
import type { Cancel } from "../util/cancel.js";
import { WaitQueue, type QueueEntry } from "./queue.js";

export interface QueueConfig {
  /** Waiters at most; beyond, requests are refused at once (0 = no queue). */
  max_size: number;
  /** Longest a request waits in all (0 = never wait). */
  timeout_ms: number;
}

export type WaitOutcome =
  /** Something changed: choose again. */
  | { kind: "woken" }
  /** The queue is at max_size. */
  | { kind: "full"; retryAfterMs?: number }
  /** Waiting is off (queue.max_size or queue.timeout_ms is 0). */
  | { kind: "off"; retryAfterMs?: number }
  /** queue.timeout_ms passed while waiting. */
  | { kind: "timeout"; waitedMs: number; retryAfterMs?: number }
  /** Every blocked provider is known to stay blocked past the deadline or queue timeout. */
  | { kind: "unfit"; retryAfterMs: number }
  | { kind: "aborted" }
  /** The pool is shutting down. */
  | { kind: "closed" };

/** One waiting request; kept across rounds so it keeps its place (seq) in the queue. */
export interface Waiter extends QueueEntry<Endpoint> {
  /** Time spent waiting so far, over every round (queue.timeout_ms bounds the total). */
  waitedMs: number;
  /** Monotonic deadline of the caller, if it set one. */
  deadline?: number;
  /** Set while parked: finishes the current round. */
  resolve?: (o: WaitOutcome) => void;
  /** The provider whose release woke it, until it is used or passed on. */
  wokenBy?: Endpoint;
}

export function createWaiter(priority: number, wants: (e: Endpoint) => boolean, deadline?: number): Waiter {
  return {
    priority,
    seq: 0,
    index: -1,
    token: 0,
    waitedMs: 0,
    deadline,
    wants,
    wake() {},
  };
}

/** Whether waiting could help: some provider is held by a limit rather than by sickness. */
export function limitedOnly(blocked: ReadonlyMap<string, GateBlock>): boolean {
  for (const b of blocked.values()) if (b.kind === "exhausted") return true;
  return false;
}

export class Admission {
  readonly queue = new WaitQueue<Endpoint, Waiter>();
  private closed = false;

  constructor(
    private readonly config: () => QueueConfig,
    private readonly clock: Clock,
  ) {}

  get depth(): number {
    return this.queue.size;
  }

  /** A provider finished a call: wake the best waiter that could use it. */
  release(e: Endpoint): void {
    if (this.queue.size > 0) this.queue.wake(e);
  }

  /** Refuse all waiting from now on and wake everyone (shutdown). */
  close(): void {
    this.closed = true;
    this.queue.wakeAll();
  }

  /** Everyone re-checks (config reload: providers may have come or gone). */
  wakeAll(): void {
    this.queue.wakeAll();
  }

  /**
   * One round of waiting given why each provider is blocked. Resolves "woken" when it is
   * worth choosing again; any other outcome ends the wait.
   */
  wait(w: Waiter, blocked: ReadonlyMap<string, GateBlock>, signal: Cancel): Promise<WaitOutcome> {
    const now = this.clock.now();
    const cfg = this.config();
    if (this.closed) return Promise.resolve({ kind: "closed" });
    if (signal.aborted) return Promise.resolve({ kind: "aborted" });
    let earliest = Infinity;
    let allTimed = true;
    for (const b of blocked.values()) {
      if (b.kind !== "exhausted") continue;
      if (b.retryAfterMs === undefined) allTimed = false;
      else if (b.retryAfterMs < earliest) earliest = b.retryAfterMs;
    }
    const retryAfterMs = allTimed && earliest < Infinity ? earliest : undefined;
    if (cfg.max_size === 0 || cfg.timeout_ms === 0) return Promise.resolve({ kind: "off", retryAfterMs });
    const timeoutAt = now + cfg.timeout_ms - w.waitedMs;
    if (now >= timeoutAt) return Promise.resolve({ kind: "timeout", waitedMs: w.waitedMs, retryAfterMs });
    const limitAt = Math.min(timeoutAt, w.deadline ?? Infinity);
    if (allTimed && now + earliest > limitAt) return Promise.resolve({ kind: "unfit", retryAfterMs: earliest });
    if (this.queue.size >= cfg.max_size) return Promise.resolve({ kind: "full", retryAfterMs });
    if (w.seq === 0) w.seq = this.queue.nextSeq();

    return new Promise<WaitOutcome>((resolve) => {
      let cancelTimeout: (() => void) | undefined;
      let cancelLift: (() => void) | undefined;
      const finish = (o: WaitOutcome) => {
        if (!w.resolve) return;
        w.resolve = undefined;
        w.waitedMs += this.clock.now() - now;
        w.wake = () => {};
        this.queue.remove(w);
        cancelTimeout?.();
        cancelLift?.();
        signal.removeEventListener("abort", onAbort);
        resolve(o);
      };
      const onAbort = () => finish({ kind: "aborted" });
      w.resolve = finish;
      w.wake = (token, resource) => {
        // Taken out of the queue by wake(): if it cannot use the resource after all, the
        // pool re-queues it and the next waiter gets its chance (see passOn).
        w.token = token;
        w.wokenBy = resource;
        finish({ kind: "woken" });
      };
      cancelTimeout = this.clock.setTimeout(() => finish({ kind: "timeout", waitedMs: w.waitedMs + this.clock.now() - now, retryAfterMs }), timeoutAt - now);
      if (earliest < Infinity) cancelLift = this.clock.setTimeout(() => finish({ kind: "woken" }), earliest);
      signal.addEventListener("abort", onAbort, { once: true });
      this.queue.push(w);
    });
  }

  /**
   * A woken waiter could not use what freed up (another request took it, or it was a
   * provider it cannot use): hand the wake-up to the next waiter in line.
   */
  passOn(w: Waiter): void {
    const resource = w.wokenBy;
    if (resource === undefined) return;
    w.wokenBy = undefined;
    this.queue.wake(resource, w.token);
  }
}
