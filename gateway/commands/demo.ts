import readline from 'node:readline';
import { startDemoEnvironment } from '../demo/demo-environment.ts';
import { runDemoJob, type StepOutcome } from '../demo/demo-job.ts';
import { createDemoPrinter } from '../demo/demo-output.ts';
import { parseCommandArgs } from './command-args.ts';

const USAGE = 'usage: gatehouse demo [--ci] [--interactive]';

/**
 * `gatehouse demo` (what `npm start` runs): a gateway, an embedded database and a simulated CI
 * job on this machine. `--ci` ends with one JSON line and exits non-zero if a step misbehaved;
 * `--interactive` leaves the proxy up for psql and takes `approve <id>` / `deny <id>` on stdin.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    {
      args: argv,
      options: { ci: { type: 'boolean', default: false }, interactive: { type: 'boolean', default: false } },
    },
    USAGE,
  );
  const printer = createDemoPrinter(process.stdout, values.ci!);
  const logs: string[] = [];
  const started = performance.now();
  printer.title('Gatehouse demo: a CI job reaches a database through the gateway, without ever holding its password');
  const environment = await startDemoEnvironment((line) => logs.push(line));
  const steps: StepOutcome[] = [];
  try {
    const publicUrl = environment.gateway.httpUrl;
    const result = await runDemoJob({
      gateway: environment.gateway,
      publicUrl: environment.publicUrl,
      keepOpen: values.interactive,
      onStep: (outcome) => {
        steps.push(outcome);
        printer.step(outcome, steps.length);
      },
    });
    if (values.interactive) return await interactive(environment, result.localUrl, publicUrl);
    printer.title(`Audit log of session ${result.sessionId} (masked, hash-chained, signed)`);
    printer.auditLog(result.events);
    printer.line(`\nTry it yourself: npm start -- --interactive`);
  } finally {
    if (!values.interactive) await environment.close();
  }
  const ok = steps.length > 0 && steps.every((s) => s.ok);
  if (values.ci)
    process.stdout.write(`${JSON.stringify({ ok, ms: Math.round(performance.now() - started), steps })}\n`);
  else printer.line(ok ? '\nEvery step behaved.' : `\nSome steps did not behave; gateway log:\n${logs.join('\n')}`);
  return ok ? 0 : 1;
}

async function interactive(
  environment: Awaited<ReturnType<typeof startDemoEnvironment>>,
  localUrl: string,
  httpUrl: string,
): Promise<number> {
  const out = process.stdout;
  out.write(`\nThe local proxy is up. In another terminal:\n\n  psql '${localUrl}'\n\n`);
  out.write(`Try: SELECT * FROM customers;  DROP TABLE orders;  UPDATE orders SET status = 'x' WHERE id = 1;\n`);
  out.write(`A held UPDATE prints its approval id; approve it here by typing:  approve <id>   (or: deny <id>)\n`);
  out.write(`(With a shared store, the same works from any shell: gatehouse approve <id> --config gatehouse.yaml)\n`);
  out.write(`Gateway API: ${httpUrl}   Ctrl-C to stop.\n\n`);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    const [verb, id] = line.trim().split(/\s+/);
    if ((verb !== 'approve' && verb !== 'deny') || !id) return void out.write('type: approve <id> | deny <id>\n');
    const result = await environment.gateway.broker.decide(id, {
      approved: verb === 'approve',
      by: ['you (demo terminal)'],
    });
    out.write(result.ok ? `${id}: ${result.status}\n` : `${id}: ${result.message}\n`);
  });
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  lines.close();
  await environment.close();
  return 0;
}
