/**
 * Secret redaction. Every secret the config mentions (provider API keys, upstream `headers:`
 * values, AWS secrets, credentials and key-bearing query parameters in URLs, gateway keys) is
 * registered here when the config loads; text that leaves the process (errors, logs, stats,
 * print-config) goes through redact() so a secret never appears, even when an upstream echoes
 * it back. Redact first, truncate after (redactAndTruncate): cutting first could leave the
 * prefix of a key that no longer matches whole.
 *
 * Registering is O(1); the matcher is built once, on the first redact() after a change, in
 * time linear in the secrets: an index from each secret's first four characters (as two
 * numbers, so scanning allocates nothing) to the secrets starting with them, longest first.
 * Scanning a text is one index probe per position, however many secrets there are (one
 * joined regex of 10,000 secrets took seconds to compile and grew with every secret).
 */
const secrets = new Set<string>();
type Index = Map<number, Map<number, string[]>>;
let index: Index | undefined;
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

const pair = (t: string, i: number) => (t.charCodeAt(i) << 16) | t.charCodeAt(i + 1);

function matcher(): Index | undefined {
  if (dirty) {
    dirty = false;
    const idx: Index = new Map();
    for (const s of secrets) {
      const a = pair(s, 0);
      const b = pair(s, 2);
      let inner = idx.get(a);
      if (!inner) idx.set(a, (inner = new Map()));
      const list = inner.get(b);
      if (list) list.push(s);
      else inner.set(b, [s]);
    }
    for (const inner of idx.values()) for (const list of inner.values()) list.sort((x, y) => y.length - x.length);
    index = idx.size > 0 ? idx : undefined;
  }
  return index;
}

/** `text` with every registered secret replaced, or `text` itself when none occurs. */
function replaceSecrets(text: string, idx: Index): string {
  let out: string[] | undefined;
  let from = 0;
  const last = text.length - MIN_SECRET_LENGTH;
  for (let i = 0; i <= last; i++) {
    const inner = idx.get(pair(text, i));
    if (!inner) continue;
    const list = inner.get(pair(text, i + 2));
    if (!list) continue;
    for (const s of list) {
      if (text.startsWith(s, i)) {
        (out ??= []).push(text.slice(from, i), REDACTED);
        from = i + s.length;
        i = from - 1;
        break;
      }
    }
  }
  if (!out) return text;
  out.push(text.slice(from));
  return out.join("");
}

export function redact(text: string): string {
  if (!text) return text;
  const idx = matcher();
  const out = idx ? replaceSecrets(text, idx) : text;
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
