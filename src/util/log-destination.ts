/**
 * stdout for log lines, written once per event-loop turn. Lines logged during a turn are
 * joined and handed to one synchronous write(2) in that turn's check phase (setImmediate), so
 * 50 calls finishing in one turn cost one system call, not 50 (a write(2) is ~3.7% of a call's
 * CPU on this VM, bench/RESULTS.md "Second pass"). The write itself is
 * sonic-boom's synchronous one (it retries EAGAIN and short writes), never libuv's thread pool,
 * which would add a thread hand-off and a loop wakeup per line.
 *
 * What is still buffered is written on process exit (process.exit, an uncaught exception) and
 * by flushSync(); only a SIGKILL inside the turn can lose it.
 */
import { pino, type DestinationStream } from "pino";

/** Where joined lines go: sonic-boom in production, a recorder in tests. */
export interface LineSink {
  write(data: string): unknown;
}

export class TurnBatchedDestination implements DestinationStream {
  private pending = "";
  private scheduled = false;
  /** Bound once: scheduling a turn's flush allocates no closure. */
  private readonly onTurnEnd = (): void => {
    this.scheduled = false;
    this.flushSync();
  };

  constructor(private readonly sink: LineSink) {}

  write(line: string): void {
    this.pending += line;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onTurnEnd);
    }
  }

  /** Write what is buffered now. */
  flushSync(): void {
    if (this.pending === "") return;
    const data = this.pending;
    this.pending = "";
    this.sink.write(data);
  }

  /** pino's logger.flush(cb). */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }
}

let stdout: TurnBatchedDestination | undefined;

/** The process's one stdout destination, flushed on exit. */
export function stdoutDestination(): TurnBatchedDestination {
  if (!stdout) {
    const dest = new TurnBatchedDestination(pino.destination({ dest: 1, sync: true }));
    process.once("exit", () => dest.flushSync());
    stdout = dest;
  }
  return stdout;
}
