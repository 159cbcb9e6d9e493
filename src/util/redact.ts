/**
 * Secret redaction. Every secret the config mentions (provider API keys, upstream `headers:`
 * values, AWS secrets, credentials and key-bearing query parameters in URLs, gateway keys) is
 * registered here when the config loads; text that leaves the process (errors, logs, stats,
 * print-config) goes through redact() so a secret never appears, even when an upstream echoes
 * it back. Redact first, truncate after (redactAndTruncate): cutting first could leave the
 * prefix of a key that no longer matches whole.
 *
 * Registering is O(1); the matcher (one regex of every secret, longest first) is built once,
 * on the first redact() after a change, so loading 5,000 providers stays linear.
 */
const secrets = new Set<string>();
let secretPattern: RegExp | undefined;
let dirty = false;

/**
 * Shapes of well-known credentials, redacted even when not registered. No leading `\b`: a key
 * glued to other text (`key=abcsk-...`, `_AKIA...`) must still match.
 */
const KEY_SHAPES =
  /(?:sk-(?:ant-|proj-|or-)?[A-Za-z0-9_\-*]{8,}|gsk_[A-Za-z0-9]{8,}|AIza[0-9A-Za-z_\-]{20,}|xai-[A-Za-z0-9]{8,}|(?:AKIA|ASIA)[0-9A-Z]{12,}|(?<=[Bb]earer\s+)[A-Za-z0-9._~+/=\-]{8,})/g;

export const REDACTED = "[REDACTED]";

/** Secrets shorter than this are not registered: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 4;

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  dirty = true;
}

/** Headers whose values are protocol settings, not credentials. */
const PLAIN_HEADERS = new Set(["content-type", "accept", "user-agent", "anthropic-version", "anthropic-beta", "api-version", "openai-beta"]);

/** Upstream `headers:` values: every one is a secret unless its name says it is a setting. */
export function registerHeaderSecrets(headers: Record<string, string> | undefined): void {
  if (!headers) return;
  for (const name of Object.keys(headers)) {
    if (PLAIN_HEADERS.has(name.toLowerCase())) continue;
    const v = headers[name]!;
    registerSecret(v);
    const space = v.indexOf(" ");
    if (space > 0) registerSecret(v.slice(space + 1).trim()); // "Bearer <token>": the token alone
  }
}

/** Query parameters that carry credentials. */
const SECRET_PARAMS = /^(?:key|api[-_]?key|apikey|token|access[-_]?token|auth|secret|password|sig|signature|x-goog-api-key|code)$/i;

/** A URL's password (and user:password) and the values of its key-bearing query parameters. */
export function registerUrlSecrets(raw: string | undefined): void {
  if (!raw) return;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return;
  }
  if (u.password) {
    registerSecret(u.password);
    registerSecret(decodeURIComponent(u.password));
    registerSecret(`${u.username}:${u.password}`);
  }
  for (const [k, v] of u.searchParams) {
    if (SECRET_PARAMS.test(k)) {
      registerSecret(v);
      registerSecret(encodeURIComponent(v));
    }
  }
}

function matcher(): RegExp | undefined {
  if (dirty) {
    dirty = false;
    const escaped = [...secrets].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    secretPattern = escaped.length > 0 ? new RegExp(escaped.join("|"), "g") : undefined;
  }
  return secretPattern;
}

export function redact(text: string): string {
  if (!text) return text;
  let out = text;
  const p = matcher();
  if (p) out = out.replace(p, REDACTED);
  return out.replace(KEY_SHAPES, REDACTED);
}

/** Redact, then cut to `max` characters (with an ellipsis): never the other way round. */
export function redactAndTruncate(text: string, max: number): string {
  const r = redact(text);
  return r.length <= max ? r : `${r.slice(0, max)}…`;
}

/** A deep copy of `v` with every string redacted (for print-config and other dumps). */
export function redactDeep<T>(v: T): T {
  if (typeof v === "string") return redact(v) as T;
  if (Array.isArray(v)) return v.map(redactDeep) as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = redactDeep(x);
    return out as T;
  }
  return v;
}
