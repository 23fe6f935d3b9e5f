import { formatEventLine } from '../audit/format-event.ts';
import type { AuditEventWire } from '../../wire/audit-events.ts';
import type { StepOutcome } from './demo-job.ts';

/** Writes the demo for a person: numbered steps, colours on a terminal, timings, the audit log. */
export interface DemoPrinter {
  title(text: string): void;
  step(outcome: StepOutcome, index: number): void;
  auditLog(events: readonly AuditEventWire[]): void;
  line(text: string): void;
}

export function createDemoPrinter(out: NodeJS.WritableStream & { isTTY?: boolean }, quiet: boolean): DemoPrinter {
  const colour = Boolean(out.isTTY) && !process.env.NO_COLOR;
  const paint = (code: number, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const write = (text: string) => {
    if (!quiet) out.write(`${text}\n`);
  };
  return {
    title: (text) => write(`\n${paint(1, text)}\n`),
    step(outcome, index) {
      const mark = outcome.ok ? paint(32, '✔') : paint(31, '✘');
      write(`${mark} ${paint(1, `${index}. ${outcome.step}`)} ${paint(2, `(${outcome.ms} ms)`)}`);
      for (const detail of outcome.detail.split('\n')) write(`    ${paint(2, detail)}`);
    },
    auditLog(events) {
      for (const event of events)
        write(
          `  ${paint(event.type === 'statement' && event.data.decision === 'deny' ? 31 : 0, formatEventLine(event))}`,
        );
    },
    line: write,
  };
}
