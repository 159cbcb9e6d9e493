/**
 * Load generators for bench/overhead.ts, each measuring the way a user of that client would:
 * a Node `http` keep-alive client one request at a time (per-call latency), autocannon at N
 * connections (throughput), grpc-js one call at a time and N calls in flight, and time to first
 * token of a stream read with a Node `http` client.
 */
import http from "node:http";
import * as grpc from "@grpc/grpc-js";
import autocannon from "autocannon";

export interface Target {
  /** Column name: direct, minimal proxy, llmpool, peer. */
  name: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** Latencies in ms of a burst of one-at-a-time calls. */
export async function sequential(t: Target, seconds: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(t.url);
  const headers = { ...t.headers, "content-length": String(t.body.length) };
  const out: number[] = [];
  const until = performance.now() + seconds * 1000;
  try {
    while (performance.now() < until) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers, agent }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`${t.name}: HTTP ${res.statusCode}`));
          res.on("data", () => {});
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end(t.body);
      });
      out.push(performance.now() - t0);
    }
  } finally {
    agent.destroy();
  }
  return out;
}

/** Time to first body byte past the response headers, ms, for one stream at a time. */
export async function firstByte(t: Target, seconds: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(t.url);
  const headers = { ...t.headers, "content-length": String(t.body.length) };
  const out: number[] = [];
  const until = performance.now() + seconds * 1000;
  try {
    while (performance.now() < until) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers, agent }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`${t.name}: HTTP ${res.statusCode}`));
          let first = true;
          res.on("data", () => {
            if (first) out.push(performance.now() - t0);
            first = false;
          });
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end(t.body);
      });
    }
  } finally {
    agent.destroy();
  }
  return out;
}

export interface Throughput {
  rps: number;
  errors: number;
  requests: number;
}

/** autocannon at `connections` keep-alive connections for `seconds`. */
export async function cannon(t: Target, connections: number, seconds: number): Promise<Throughput> {
  const r = await autocannon({ url: t.url, method: "POST", headers: t.headers, body: t.body, connections, duration: seconds });
  return { rps: r.requests.average, errors: r.errors + r.non2xx, requests: r.requests.total };
}

const passthrough = {
  serialize: (b: Buffer) => b,
  deserialize: (b: Buffer) => b,
};

/** A grpc-js client for Chat that sends pre-encoded bytes and keeps the answer's bytes. */
export function grpcClient(address: string): { call(msg: Buffer): Promise<void>; close(): void } {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return {
    call(msg) {
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest("/llmpool.v1.LLMPool/Chat", passthrough.serialize, passthrough.deserialize, msg, (err) => (err ? reject(err) : resolve()));
      });
    },
    close: () => client.close(),
  };
}

/** grpc-js, one call at a time: latencies in ms. */
export async function grpcSequential(address: string, msg: Buffer, seconds: number): Promise<number[]> {
  const c = grpcClient(address);
  const out: number[] = [];
  const until = performance.now() + seconds * 1000;
  try {
    while (performance.now() < until) {
      const t0 = performance.now();
      await c.call(msg);
      out.push(performance.now() - t0);
    }
  } finally {
    c.close();
  }
  return out;
}

/** grpc-js, `inFlight` calls at a time on one channel. */
export async function grpcConcurrent(address: string, msg: Buffer, inFlight: number, seconds: number): Promise<Throughput> {
  const c = grpcClient(address);
  let requests = 0;
  let errors = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      await c.call(msg).then(
        () => requests++,
        () => errors++,
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    c.close();
  }
  return { rps: requests / ((performance.now() - t0) / 1000), errors, requests };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
