/**
 * The settings a running server fixed at start (listeners, TLS, request size, the shared-state
 * connection, telemetry, the cache's store): a reload applies everything else and logs these
 * keys as taking effect only after a restart (src/server/server.ts).
 */
import type { LoadedConfig } from "./load.js";

/** Settings fixed when the server started (listener, TLS, request size): a reload cannot change them. */
export function restartOnly(old: LoadedConfig, next: LoadedConfig): string[] {
  const a = old.config.server;
  const b = next.config.server;
  const out: string[] = [];
  if (a.port !== b.port) out.push("server.port");
  if (a.host !== b.host) out.push("server.host");
  if (a.ollama_port !== b.ollama_port) out.push("server.ollama_port");
  if (JSON.stringify(a.tls) !== JSON.stringify(b.tls)) out.push("server.tls");
  if (a.max_request_bytes !== b.max_request_bytes) out.push("server.max_request_bytes");
  if (JSON.stringify(a.timeouts) !== JSON.stringify(b.timeouts)) out.push("server.timeouts");
  if (a.max_concurrent_streams !== b.max_concurrent_streams) out.push("server.max_concurrent_streams");
  if (a.max_connections !== b.max_connections) out.push("server.max_connections");
  // on_unavailable is read live; the backend and its connection are built once.
  for (const k of ["backend", "url", "key_prefix", "replicas_hint"] as const) {
    if (old.config.state[k] !== next.config.state[k]) out.push(`state.${k}`);
  }
  if (JSON.stringify(old.config.telemetry) !== JSON.stringify(next.config.telemetry)) out.push("telemetry");
  const [ca, cb] = [old.config.cache, next.config.cache];
  if (ca.max_entries !== cb.max_entries || ca.max_bytes !== cb.max_bytes || ca.timeout_ms !== cb.timeout_ms) out.push("cache (store bounds)");
  return out;
}
