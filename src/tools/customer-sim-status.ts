export interface SimCounts {
  requests: number;
  approved: number;
  rejected: number;
  /** Requests without an order id: acked, not answered. */
  skipped: number;
  /** Replies the broker did not confirm; their requests went back to the queue. */
  failed: number;
}

export function formatCounts(counts: SimCounts): string {
  const extra = [counts.skipped > 0 ? `skipped ${counts.skipped}` : '', counts.failed > 0 ? `failed ${counts.failed}` : ''].filter(Boolean);
  return [`requests ${counts.requests}`, `approved ${counts.approved}`, `rejected ${counts.rejected}`, ...extra].join('  ');
}

/**
 * The simulator's running count on one line. On a terminal the line is rewritten in place at most four times
 * a second; into a pipe or file it becomes a new line at most once a second, and only when something changed.
 */
export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private shown = '';
  private lastWrite = 0;

  constructor(
    private readonly counts: SimCounts,
    private readonly out: NodeJS.WriteStream,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.refresh(), 250);
    this.timer.unref();
  }

  /** The final summary, on a line of its own. */
  finish(): void {
    clearInterval(this.timer);
    if (this.out.isTTY && this.shown) this.out.write('\n');
    this.out.write(`customer-sim stopped: ${formatCounts(this.counts)}\n`);
  }

  private refresh(): void {
    const line = formatCounts(this.counts);
    if (line === this.shown) return;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}`);
    } else {
      if (Date.now() - this.lastWrite < 1_000) return;
      this.out.write(`${line}\n`);
      this.lastWrite = Date.now();
    }
    this.shown = line;
  }
}
