import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { parse as parseShell } from 'shell-quote';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../config/load-config.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { compileIdentityRules, matchIdentity } from '../identity/identity-rules.ts';
import { createPolicyEngine } from '../policy/engine.ts';
import { explainReport, formatExplainReport } from '../policy/explain-format.ts';
import { lintPolicy } from '../policy/lint-policy.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import type { Action, Identity } from '../policy/actions-and-decisions.ts';
import { loadSqlParser } from '../sql/analyze-sql.ts';
import { createConnectionAnalyzer } from '../sql/connection-analyzer.ts';
import { parseCommandArgs } from './command-args.ts';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

const USAGE = `usage:
  gatehouse policy check [dir] [--config gatehouse.yaml] [--strict]
  gatehouse policy explain --claims claims.json --connection NAME [--policies dir | --config F]
                           [--identity RULE] [--extended] [--ssh] [--json] "SQL or ssh command"`;

/** Where text goes; the CLI passes process.stdout, tests pass a collector. */
export interface Output {
  write(text: string): unknown;
}

/** `gatehouse policy check|explain`. Returns the exit code. */
export async function run(argv: string[], out: Output = process.stdout): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'check') return check(rest, out);
  if (sub === 'explain') return explain(rest, out);
  out.write(`${USAGE}\n`);
  return sub === undefined || sub === '--help' ? 0 : 2;
}

function parse<const O extends ParseArgsOptionsConfig>(argv: string[], options: O) {
  return parseCommandArgs({ args: argv, allowPositionals: true, strict: true, options }, USAGE);
}

function policiesDir(explicit: string | undefined, config: string | undefined): string {
  if (explicit) return explicit;
  if (config) return loadConfig(config).policiesDir;
  return 'policies';
}

async function check(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string' }, strict: { type: 'boolean' } });
  const config = values.config;
  const dir = policiesDir(positionals[0], config);
  const policy = loadPolicies(dir);
  const connections = config ? Object.keys(loadConfig(config).connections) : undefined;
  const findings = lintPolicy(policy, { connections });
  out.write(
    `${dir}: ${policy.files.length} file(s), ${policy.identities.length} identities, ${policy.rules.length} rules, ${policy.masking.length} masking sections\n`,
  );
  for (const f of findings)
    out.write(
      `${f.severity}: ${f.where}: ${f.message}${f.weakens ? ' (gatehouse serve refuses to start with this)' : ''}\n`,
    );
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  out.write(errors + warnings === 0 ? 'ok\n' : `${errors} error(s), ${warnings} warning(s)\n`);
  return errors > 0 || (values.strict === true && warnings > 0) ? 1 : 0;
}

function readClaims(file: string | undefined): Record<string, unknown> {
  if (!file)
    throw new GatehouseError('cli.usage', `--claims is required: a JSON or YAML file of OIDC claims\n${USAGE}`);
  let claims: unknown;
  try {
    claims = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new GatehouseError(
      'policy.claims-unreadable',
      `${file}: cannot read the claims (${(error as Error).message.split('\n')[0]}); pass a JSON object of GitHub OIDC claims`,
    );
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new GatehouseError(
      'policy.claims-invalid',
      `${file}: claims must be a JSON object like {"repository": "acme/app", "ref": "refs/heads/main"}`,
    );
  }
  return claims as Record<string, unknown>;
}

function sshAction(command: string, base: { connection: string; identity: Identity }): Action {
  const words = parseShell(command);
  const argv = words.every((w): w is string => typeof w === 'string') ? words : null;
  return { type: 'ssh.exec', command, argv, ...base };
}

async function explain(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    claims: { type: 'string' },
    connection: { type: 'string' },
    policies: { type: 'string' },
    config: { type: 'string' },
    identity: { type: 'string' },
    extended: { type: 'boolean' },
    ssh: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const connection = values.connection;
  if (!connection) throw new GatehouseError('cli.usage', `--connection is required\n${USAGE}`);
  const text = positionals.join(' ');
  if (text.trim() === '')
    throw new GatehouseError('cli.usage', `give the SQL (or, with --ssh, the command) to explain\n${USAGE}`);
  const claims = readClaims(values.claims);
  const policy = loadPolicies(policiesDir(values.policies, values.config));

  let identityRule = values.identity;
  const notes: string[] = [];
  if (!identityRule) {
    const match = matchIdentity(compileIdentityRules(policy.identities), claims);
    if (match.ok) identityRule = match.rule.name;
    else
      notes.push(
        `note: no identity rule matches these claims, so the gateway would refuse the session (${match.tried.map((t) => `${t.rule}: ${t.failedClaims.join(', ')}`).join('; ') || 'no identities defined'})`,
      );
  }
  const identity: Identity = { sessionId: 'explain', claims, identityRule };
  const engine = createPolicyEngine(policy);
  let action: Action;
  if (values.ssh) {
    action = sshAction(text, { connection, identity });
  } else {
    await loadSqlParser();
    const analyzer = createConnectionAnalyzer();
    const statements = values.extended ? analyzer.analyzeParse('', text) : analyzer.analyzeQuery(text);
    action = {
      type: 'pg.query',
      via: values.extended ? 'extended' : 'simple',
      sql: text,
      statements,
      connection,
      identity,
    };
  }
  const report = explainReport(engine.evaluate(action), connection, identityRule);
  if (values.json) out.write(`${JSON.stringify({ ...report, notes }, null, 2)}\n`);
  else out.write(`${notes.map((n) => `${n}\n`).join('')}${formatExplainReport(report)}`);
  return report.decision.action === 'deny' ? 1 : 0;
}
