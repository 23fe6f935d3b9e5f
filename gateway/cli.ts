import { GatehouseError } from './errors/gatehouse-error.ts';

/** A CLI command: gets its own argv (after the command name), returns the exit code. */
export type Command = (argv: string[]) => Promise<number>;

/** Each command lives in its own file (commands/; the runner side's `connect` in client/) and is loaded only when used. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: Command }> }> = {
  serve: { summary: 'run the gateway: serve --config gatehouse.yaml', load: () => import('./commands/serve.ts') },
  demo: { summary: 'everything on one machine with embedded defaults', load: () => import('./commands/demo.ts') },
  connect: {
    summary: 'the local proxy: connect --gateway URL --token JWT <connection[:port]>...',
    load: () => import('./client/connect-command.ts'),
  },
  policy: {
    summary: 'policy check [dir] | policy explain --claims F --connection C "SQL"',
    load: () => import('./commands/policy.ts'),
  },
  audit: { summary: 'audit show|verify|replay <session>', load: () => import('./commands/audit.ts') },
  'dev-token': {
    summary: 'mint a JWT from the dev issuer: dev-token --claims F',
    load: () => import('./commands/dev-token.ts'),
  },
  approvals: {
    summary: 'what is held for approval, and the answer: approvals list | show|approve|deny <id>',
    load: () => import('./commands/approvals.ts'),
  },
  approve: {
    summary: 'short for approvals approve|deny: approve <id> [--deny]',
    load: () => import('./commands/approve.ts'),
  },
  app: { summary: 'run only the GitHub App', load: () => import('./commands/app.ts') },
};

/** Entry point of `gatehouse`; prints clear errors (never stack traces) for GatehouseError. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    const lines = Object.entries(COMMANDS).map(([key, c]) => `  ${key.padEnd(10)} ${c.summary}`);
    process.stderr.write(`usage: gatehouse <command> [options]\n\n${lines.join('\n')}\n`);
    return name && name !== '--help' ? 2 : 0;
  }
  try {
    const { run } = await command.load();
    return await run(rest);
  } catch (error) {
    if (error instanceof GatehouseError) {
      process.stderr.write(`gatehouse ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
