/**
 * The wait queue: requests that found every eligible provider saturated, limited or cooling
 * down wait here, ordered by priority (higher first) and then age. It is an indexed binary
 * heap, so adding, removing (timeout, cancel) and waking are O(log n); its size is bounded by
 * the caller (`pool.queue.max_size`), so memory stays bounded under any load.
 *
 * Waking is targeted: when a provider frees a slot, the best waiter that could use that
 * provider is woken, not all of them. A woken waiter that still cannot proceed re-queues at
 * its old place and passes the wake-up on (`token` stops the cascade from visiting anyone
 * twice).
 */
export interface QueueEntry<R = unknown> {
  /** Higher goes first. */
  priority: number;
  /** Arrival order: lower goes first among equal priorities. Keep it when re-queueing. */
  seq: number;
  /** Heap position, -1 when not queued (maintained by the queue). */
  index: number;
  /** The last wake-up cascade this entry took part in. */
  token: number;
  /** Whether this waiter could use the resource that just freed up. */
  wants(resource: R): boolean;
  /**
   * Wake it up: it re-checks whether it can proceed, and if not re-queues and calls
   * `wake(resource, token)` again to pass the freed resource on.
   */
  wake(token: number, resource?: R): void;
}

export class WaitQueue<R, E extends QueueEntry<R> = QueueEntry<R>> {
  private readonly heap: E[] = [];
  private seqs = 0;
  private tokens = 0;

  get size(): number {
    return this.heap.length;
  }

  /** The arrival number for a new waiter. */
  nextSeq(): number {
    return ++this.seqs;
  }

  push(e: E): void {
    e.index = this.heap.length;
    this.heap.push(e);
    this.up(e.index);
  }

  /** Take a waiter out (timed out, canceled); false when it was not queued. */
  remove(e: E): boolean {
    const i = e.index;
    if (i < 0 || this.heap[i] !== e) return false;
    const last = this.heap.pop()!;
    e.index = -1;
    if (last !== e) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
    return true;
  }

  /**
   * Wake the best waiter that wants `resource` and has not yet been woken in this cascade.
   * Returns whether one was woken (it is out of the queue until it re-queues itself).
   */
  wake(resource: R, token = ++this.tokens): boolean {
    if (this.heap.length === 0) return false;
    let found: E | undefined;
    let aside: E[] | undefined;
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      this.remove(top);
      if (top.token !== token && top.wants(resource)) {
        found = top;
        break;
      }
      (aside ??= []).push(top);
    }
    if (aside) for (const a of aside) this.push(a);
    if (!found) return false;
    found.token = token;
    found.wake(token, resource);
    return true;
  }

  /** Wake every waiter (config reload, shutdown): each re-checks and re-queues or gives up. */
  wakeAll(): void {
    const all = this.heap.splice(0);
    const token = ++this.tokens;
    for (const e of all) e.index = -1;
    for (const e of all) {
      e.token = token;
      e.wake(token);
    }
  }

  private before(a: E, b: E): boolean {
    return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(e, h[p]!)) break;
      h[i] = h[p]!;
      h[i]!.index = i;
      i = p;
    }
    h[i] = e;
    e.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(h[r]!, h[l]!) ? r : l;
      if (!this.before(h[c]!, e)) break;
      h[i] = h[c]!;
      h[i]!.index = i;
      i = c;
    }
    h[i] = e;
    e.index = i;
  }
}
