/** What a fault step prints and the summary table collects. */
export interface StepReport {
  step: string;
  durationMs: number;
  sent: number;
  acknowledged: number;
  /** Distinct events that reached the capture queue, and all deliveries of them (repeats included). */
  published: number;
  deliveries: number;
  projected: number;
  approved: number;
  rejected: number;
  timedOut: number;
  lost: number;
  duplicated: number;
  /** Everything that fails the step besides the two counts (out of order, wrong answer, a 5xx, a process that died...). */
  problems: string[];
  /** Figures of the step's own fault (kills, outage times, 503 latency). */
  notes: string[];
}

export const reports: StepReport[] = [];

export function countLine(r: StepReport): string {
  return (
    `[faults] ${r.step}: sent ${r.sent}, acknowledged ${r.acknowledged}, published ${r.published} ` +
    `(${r.deliveries} deliveries, ${r.deliveries - r.published} repeated), projected ${r.projected}, ` +
    `lost ${r.lost}, duplicated ${r.duplicated} | outcomes approved ${r.approved}, rejected ${r.rejected}, ` +
    `timed out ${r.timedOut} | ${(r.durationMs / 1000).toFixed(1)} s`
  );
}

export function summaryTable(): string {
  const head = ['step', 'sent', 'acked', 'published', 'deliveries', 'projected', 'lost', 'duplicated', 'problems', 'duration'];
  const rows = reports.map((r) => [
    r.step,
    r.sent,
    r.acknowledged,
    r.published,
    r.deliveries,
    r.projected,
    r.lost,
    r.duplicated,
    r.problems.length,
    `${(r.durationMs / 1000).toFixed(1)} s`,
  ].map(String));
  const total = reports.reduce((sum, r) => sum + r.durationMs, 0);
  rows.push(['total', '', '', '', '', '', '', '', '', `${(total / 1000).toFixed(1)} s`]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return ['[faults] summary', line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
