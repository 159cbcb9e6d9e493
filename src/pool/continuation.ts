/**
 * Reconciling a continuation with the text already delivered. A provider asked to continue an
 * assistant prefill may instead answer from the start (it ignores the prefill, or repeats it
 * before going on). While its output still matches the start of the delivered text, it is held
 * back; then it is either
 *  - a repeat: it reproduced all of the delivered text, which is dropped, the rest goes on;
 *  - a restart: it repeated a real stretch of the delivered text and then went elsewhere (the
 *    two cannot be spliced, so the answer starts over from what it said);
 *  - a continuation: it did not repeat the delivered text (beyond a few characters that may
 *    match by chance), so everything held back goes on as is.
 */

/** Matching fewer leading characters than this can be chance (" The", "I "): not a repeat. */
const CHANCE_MATCH = 16;

export type Reconciled =
  /** Still matching the delivered text: nothing to send yet. */
  | { kind: "holding" }
  /** Send `text` as the continuation (the repeated prefix, if any, is stripped). */
  | { kind: "continue"; text: string }
  /** The continuation is a different answer: start over with `text`. */
  | { kind: "restart"; text: string };

export class Continuation {
  private held = "";
  private readonly chance: number;

  constructor(private readonly delivered: string) {
    this.chance = Math.min(delivered.length, CHANCE_MATCH);
  }

  /** The next delta of the continuation. */
  push(delta: string): Reconciled {
    this.held += delta;
    const held = this.held;
    const d = this.delivered;
    if (held.length < d.length && d.startsWith(held)) return { kind: "holding" };
    if (held.startsWith(d)) return { kind: "continue", text: held.slice(d.length) };
    return commonPrefix(held, d) >= this.chance ? { kind: "restart", text: held } : { kind: "continue", text: held };
  }

  /** The continuation ended while still matching: a shortened repeat is a new answer. */
  end(): Exclude<Reconciled, { kind: "holding" }> | undefined {
    if (this.held === "") return undefined;
    return this.held.length >= this.chance ? { kind: "restart", text: this.held } : { kind: "continue", text: this.held };
  }
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
