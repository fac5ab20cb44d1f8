import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

interface Panel {
  title?: string;
  targets?: { expr?: string; datasource?: { type?: string; uid?: string } }[];
  panels?: Panel[];
  datasource?: { type?: string; uid?: string };
}

/** Every Prometheus query of every dashboard in grafana/dashboards (Loki queries are skipped). */
export function readDashboardQueries(directory = 'grafana/dashboards'): PanelQuery[] {
  const queries: PanelQuery[] = [];
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(path.join(directory, file), 'utf8')) as { title: string; panels?: Panel[] };
    const visit = (panel: Panel) => {
      for (const target of panel.targets ?? []) {
        const source = target.datasource ?? panel.datasource;
        if (!target.expr || source?.type === 'loki' || source?.uid === 'loki') continue;
        queries.push({ dashboard: dashboard.title, panel: panel.title ?? '(untitled)', expr: target.expr });
      }
      for (const child of panel.panels ?? []) visit(child);
    };
    for (const panel of dashboard.panels ?? []) visit(panel);
  }
  return queries;
}

/** Each dashboard's title with the titles of its panels and rows. */
export function readPanelTitles(directory = 'grafana/dashboards'): Map<string, Set<string>> {
  const titles = new Map<string, Set<string>>();
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(path.join(directory, file), 'utf8')) as { title: string; panels?: Panel[] };
    const panels = new Set<string>();
    const visit = (panel: Panel) => {
      if (panel.title) panels.add(panel.title);
      for (const child of panel.panels ?? []) visit(child);
    };
    for (const panel of dashboard.panels ?? []) visit(panel);
    titles.set(dashboard.title, panels);
  }
  return titles;
}

const PROMQL_WORDS = new Set([
  'sum', 'avg', 'min', 'max', 'count', 'rate', 'irate', 'increase', 'delta', 'histogram_quantile', 'by', 'without', 'on', 'ignoring',
  'group_left', 'group_right', 'or', 'and', 'unless', 'vector', 'scalar', 'time', 'clamp_min', 'clamp_max', 'abs', 'topk', 'bottomk',
  'label_replace', 'avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'offset', 'bool', 'le', 'absent', 'sort', 'sort_desc',
  'round', 'ceil', 'floor', 'deriv', 'predict_linear', 'quantile_over_time', 'last_over_time', 'changes', 'resets',
]);

/** The metric names a PromQL expression reads (label names, functions, strings, ranges and variables removed). */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\$\w+|\$\{[^}]+\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const [word] of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (!PROMQL_WORDS.has(word) && !/^\d/.test(word) && word.includes('_')) names.add(word);
  }
  return [...names];
}

/** Names of the samples in a Prometheus text exposition (histograms' _bucket, _sum, _count included). */
export function exportedSampleNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const line of metricsText.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    names.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
  }
  return names;
}
