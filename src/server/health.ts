/**
 * grpc.health.v1.Health: Check and Watch, for Kubernetes probes, Envoy and grpc-health-probe.
 * The overall server ("") and "llmpool.v1.LLMPool" report the pool's serving state; unknown
 * service names are NOT_FOUND on Check and SERVICE_UNKNOWN on Watch, as the protocol says.
 */
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { LLMPool } from "../../gen/llmpool/v1/llmpool_pb.js";

export interface HealthSource {
  /** Whether the pool is serving right now. */
  serving(): boolean;
  /** How often Watch re-checks, ms. */
  watchIntervalMs?: number;
  /** Aborts when the server starts shutting down: Watch streams report NOT_SERVING and end. */
  drainSignal?: AbortSignal;
}

const KNOWN = new Set(["", LLMPool.typeName]);

/** Resolves true after ms, or false as soon as any of the signals aborts. */
function wait(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<boolean> {
  return new Promise((resolve) => {
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    if (live.some((s) => s.aborted)) return resolve(false);
    const t = setTimeout(() => {
      for (const s of live) s.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      for (const s of live) s.removeEventListener("abort", onAbort);
      resolve(false);
    };
    for (const s of live) s.addEventListener("abort", onAbort, { once: true });
  });
}

export function registerHealth(router: ConnectRouter, source: HealthSource): void {
  const status = (service: string): Status =>
    !KNOWN.has(service) ? Status.SERVICE_UNKNOWN : source.serving() ? Status.SERVING : Status.NOT_SERVING;
  router.service(Health, {
    check(req) {
      if (!KNOWN.has(req.service)) {
        throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
      }
      return { status: status(req.service) };
    },
    async *watch(req, ctx) {
      let last = status(req.service);
      yield { status: last };
      for (;;) {
        await wait(source.watchIntervalMs ?? 1000, ctx.signal, source.drainSignal);
        if (ctx.signal.aborted) return;
        const now = status(req.service);
        if (now !== last) {
          last = now;
          yield { status: now };
        }
        if (source.drainSignal?.aborted) return; // shutting down: the stream must not hold the drain
      }
    },
  });
}
