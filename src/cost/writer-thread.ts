/**
 * The SQLite ledger's writer thread (src/cost/ledger.ts), started by the first batch and
 * stopped after `idleMs` without one. A thread is a second V8 isolate: ~10 MB of resident
 * memory that a gateway with no traffic, or between bursts, has no use for (bench/RESULTS.md
 * "Fifth pass"). Starting one costs the event loop about a millisecond; the thread's own
 * start-up (loading better-sqlite3, opening the file) runs beside it, and batches posted
 * meanwhile wait in its message queue.
 */
import { Worker } from "node:worker_threads";
import type { Clock } from "../util/clock.js";
import { THREAD_JS, type Batch } from "./ledger-writer.js";

export interface WriterThreadEvents {
  /** Batch `id` is in the file. */
  written(id: number): void;
  /** Batch `id` was not written (the transaction failed). */
  failed(id: number, message: string): void;
  /** The running thread died: batches it had not acknowledged are not written. */
  died(err: Error): void;
}

type Reply = { type: "written" | "failed" | "closed"; id?: number; message?: string };

export class WriterThread {
  private worker: Worker | undefined;
  /** Threads asked to close and not yet gone (close() waits for them). */
  private readonly leaving = new Set<Promise<void>>();
  private cancelRetire: (() => void) | undefined;
  /** Threads started so far (tests read it). */
  starts = 0;

  constructor(
    private readonly path: string,
    private readonly sqlite: string,
    private readonly clock: Clock,
    private readonly idleMs: number,
    private readonly events: WriterThreadEvents,
  ) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Hand a batch to the thread, starting one if none runs. `batch.nums` is transferred. */
  post(id: number, batch: Batch): void {
    this.keep();
    (this.worker ??= this.start()).postMessage({ type: "batch", id, batch }, [batch.nums.buffer as ArrayBuffer]);
  }

  /** Everything posted is acknowledged: the thread may go after `idleMs` without a batch. */
  idle(): void {
    if (!this.worker || this.cancelRetire) return;
    this.cancelRetire = this.clock.setTimeout(() => {
      this.cancelRetire = undefined;
      this.retire();
    }, this.idleMs);
  }

  /** Keep the process alive while the running thread finishes what it was given (shutdown). */
  hold(): void {
    this.worker?.ref();
  }

  /** Stop the thread (it closes its connection first) and wait for every thread to be gone. */
  async close(): Promise<void> {
    this.keep();
    this.retire();
    await Promise.all(this.leaving);
  }

  /** Cancel a pending idle stop. */
  private keep(): void {
    this.cancelRetire?.();
    this.cancelRetire = undefined;
  }

  private start(): Worker {
    this.starts++;
    const w = new Worker(THREAD_JS, { eval: true, workerData: { path: this.path, sqlite: this.sqlite } });
    w.unref(); // never keeps the process alive; close() holds it while it drains
    w.on("message", (m: Reply) => {
      if (m.type === "written") this.events.written(m.id!);
      else if (m.type === "failed") this.events.failed(m.id!, m.message ?? "write failed");
    });
    w.on("error", (err) => {
      if (this.worker !== w) return; // a thread on its way out: it had nothing unacknowledged
      this.worker = undefined;
      this.events.died(err);
    });
    return w;
  }

  private retire(): void {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    w.ref();
    const gone = new Promise<void>((resolve) => {
      const end = () => {
        w.terminate().then(() => resolve(), () => resolve());
      };
      w.on("message", (m: Reply) => m.type === "closed" && end());
      w.once("error", end);
      w.once("exit", () => resolve());
      w.postMessage({ type: "close" });
    }).finally(() => this.leaving.delete(gone));
    this.leaving.add(gone);
  }
}
