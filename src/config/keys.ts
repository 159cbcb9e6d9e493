/**
 * Whole-config checks of the gateway keys (server.auth): no key listed twice, a tenant's
 * budget said once, and each virtual key's budget merged into cost.budgets.tenants so the
 * budget machinery (cost/budgets.ts), its stats and the ledger treat it like any tenant budget.
 */
import { createHash } from "node:crypto";
import type { Config } from "./schema.js";
import type { ConfigProblem } from "./interpolate.js";

export const sha256Hex = (s: string): string => createHash("sha256").update(s).digest("hex");

/** Problems with server.auth; on none, merges key budgets into `cfg.cost.budgets.tenants`. */
export function checkKeys(cfg: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const auth = cfg.server.auth;
  const seen = new Map<string, string>();
  const note = (hex: string, path: string) => {
    const prev = seen.get(hex);
    if (prev !== undefined) problems.push({ path, message: `the same key as ${prev}` });
    else seen.set(hex, path);
  };
  auth.api_keys.forEach((k, i) => note(sha256Hex(k), `server.auth.api_keys[${i}]`));
  const budgets = new Map<string, { at: string; json: string }>();
  const merged: Config["cost"]["budgets"]["tenants"] = {};
  auth.keys.forEach((k, i) => {
    const at = `server.auth.keys[${i}]`;
    note(k.key !== undefined ? sha256Hex(k.key) : k.key_sha256!.toLowerCase(), k.key !== undefined ? `${at}.key` : `${at}.key_sha256`);
    if (!k.budget) return;
    const json = JSON.stringify(k.budget);
    const prev = budgets.get(k.tenant);
    if (prev && prev.json !== json) {
      problems.push({ path: `${at}.budget`, message: `tenant ${JSON.stringify(k.tenant)} already has a different budget at ${prev.at}` });
      return;
    }
    const configured = cfg.cost.budgets.tenants[k.tenant];
    if (configured && Object.hasOwn(cfg.cost.budgets.tenants, k.tenant) && JSON.stringify(configured) !== json) {
      problems.push({ path: `${at}.budget`, message: `differs from cost.budgets.tenants.${k.tenant}: set it in one place` });
      return;
    }
    budgets.set(k.tenant, { at: `${at}.budget`, json });
    merged[k.tenant] = k.budget;
  });
  if (problems.length === 0) cfg.cost.budgets.tenants = { ...cfg.cost.budgets.tenants, ...merged };
  return problems;
}

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|::1|localhost|::ffff:127(?:\.\d{1,3}){3})$/i;

export const isLoopback = (host: string): boolean => LOOPBACK.test(host);

/**
 * Why this server may not start as configured, or undefined. Serving a non-loopback address
 * with no gateway key would let anyone who reaches the port spend every provider key.
 */
export function exposureProblem(server: Config["server"], host = server.host): string | undefined {
  if (isLoopback(host)) return undefined;
  const a = server.auth;
  if (a.api_keys.length > 0 || a.keys.length > 0 || a.allow_anonymous) return undefined;
  return (
    `refusing to listen on ${host} with no gateway key: anyone who can reach this address could spend the provider keys. ` +
    "Set server.auth.keys or server.auth.api_keys, or opt out with server.auth.allow_anonymous: true " +
    "(or listen on 127.0.0.1)"
  );
}
