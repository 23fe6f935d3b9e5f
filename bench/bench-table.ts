/** One line of the benchmark table that `npm run bench` prints (and the README shows). */
export interface BenchRow {
  benchmark: string;
  direct?: string;
  gateway?: string;
  /** gateway / direct (throughput) or direct / gateway (time), so higher is better; or a plain value. */
  ratio?: string;
  goal?: string;
}

/** Renders rows as a markdown table. */
export function renderTable(rows: readonly BenchRow[]): string {
  const header = '| benchmark | direct | through gatehouse | ratio | goal |\n|---|---|---|---|---|';
  const lines = rows.map(
    (r) => `| ${r.benchmark} | ${r.direct ?? ''} | ${r.gateway ?? ''} | ${r.ratio ?? ''} | ${r.goal ?? ''} |`,
  );
  return [header, ...lines].join('\n');
}
