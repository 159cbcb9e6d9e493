/**
 * Secret redaction. Every API key the config mentions is registered here when the config
 * loads; text that leaves the process (errors, logs, stats) goes through redact() so a key
 * never appears, even when an upstream echoes it back in an error message.
 */
const secrets = new Set<string>();
let secretPattern: RegExp | undefined;

/** Shapes of well-known provider keys, redacted even when not registered. */
const KEY_SHAPES =
  /\b(?:sk-(?:ant-|proj-|or-)?[A-Za-z0-9_\-*]{8,}|gsk_[A-Za-z0-9]{8,}|AIza[0-9A-Za-z_\-]{20,}|xai-[A-Za-z0-9]{8,}|AKIA[0-9A-Z]{12,})/g;

export const REDACTED = "[REDACTED]";

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4 || secrets.has(value)) return;
  secrets.add(value);
  const escaped = [...secrets]
    .sort((a, b) => b.length - a.length)
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  secretPattern = new RegExp(escaped.join("|"), "g");
}

export function redact(text: string): string {
  if (!text) return text;
  let out = text;
  if (secretPattern) out = out.replace(secretPattern, REDACTED);
  return out.replace(KEY_SHAPES, REDACTED);
}
