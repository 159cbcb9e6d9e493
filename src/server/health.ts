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
}

const KNOWN = new Set(["", LLMPool.typeName]);

function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
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
      while (await wait(source.watchIntervalMs ?? 1000, ctx.signal)) {
        const now = status(req.service);
        if (now !== last) {
          last = now;
          yield { status: now };
        }
      }
    },
  });
}
