import { SQLSTATE } from './protocol-codes.ts';
import type { GateControl, StatementGate } from './statement-gate.ts';

/**
 * The settings a client asks for in its StartupMessage: every parameter other than who and where
 * (`user`, `database`), and each `-c name=value` / `--name=value` of `options`. The server applies
 * them exactly as it applies a `SET`, so the gateway judges them as that `SET` under the policy,
 * and forwards or refuses each one: none is dropped silently.
 */
export interface StartupSettings {
  /** Lower-case setting name → value, in the order the client gave them (a later one wins, as on the server). */
  settings: Map<string, string>;
}

/** Parameters that are not settings: the role and database (the gateway picks both), answered elsewhere. */
const NOT_SETTINGS: ReadonlySet<string> = new Set(['user', 'database', 'replication', 'options']);

/** The wire encoding, which the handshake checks itself (only encodings the analysis reads correctly). */
export const WIRE_ENCODING = 'client_encoding';

/** A setting name as PostgreSQL's GUC accepts it: identifiers, dotted for a custom (extension) setting. */
const SETTING_NAME = /^[a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)*$/;

/**
 * Collects the settings of a StartupMessage, or says why one cannot be judged (a malformed name, an
 * `options` switch that is not a setting, such as `-B 100` or `-d 5`).
 */
export function startupSettings(parameters: ReadonlyMap<string, string>): StartupSettings | { problem: string } {
  const settings = new Map<string, string>();
  const options = parameters.get('options');
  if (options !== undefined) {
    const fromOptions = settingsOfOptions(options);
    if ('problem' in fromOptions) return fromOptions;
    for (const [name, value] of fromOptions.settings) settings.set(name, value);
  }
  for (const [given, value] of parameters) {
    if (NOT_SETTINGS.has(given) || given.startsWith('_pq_.')) continue;
    const name = given.toLowerCase();
    if (!SETTING_NAME.test(name)) return { problem: `startup parameter "${given}" is not a setting name` };
    settings.delete(name);
    settings.set(name, value);
  }
  return { settings };
}

/**
 * `options` as the server reads it: words separated by unescaped white space (a backslash keeps
 * the next character), each `-c name=value`, `-cname=value` or `--name=value`; dashes in a name are
 * underscores, as PostgreSQL's ParseLongOption reads them.
 */
function settingsOfOptions(options: string): StartupSettings | { problem: string } {
  const words = splitOptionWords(options);
  const settings = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let assignment: string | undefined;
    if (word === '-c') assignment = words[++i];
    else if (word.startsWith('--')) assignment = word.slice(2);
    else if (word.startsWith('-c')) assignment = word.slice(2);
    if (assignment === undefined) {
      return {
        problem: `startup option "${word}" is not a setting; the gateway accepts only -c name=value and --name=value in options (PGOPTIONS)`,
      };
    }
    const at = assignment.indexOf('=');
    const name = (at < 0 ? assignment : assignment.slice(0, at)).replace(/-/g, '_').toLowerCase();
    if (at < 0 || !SETTING_NAME.test(name))
      return { problem: `startup option "${word}" is not of the form -c name=value` };
    settings.delete(name);
    settings.set(name, assignment.slice(at + 1));
  }
  return { settings };
}

function splitOptionWords(options: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  for (let i = 0; i < options.length; i++) {
    const char = options[i]!;
    if (char === '\\' && i + 1 < options.length) {
      current += options[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/**
 * The `SET` statements the server runs for these settings, as one query: what the policy judges and
 * the audit log keeps. Names are quoted (a setting called `role` stays the setting `role`).
 */
export function settingsAsSql(settings: ReadonlyMap<string, string>): string {
  return [...settings]
    .map(([name, value]) => {
      const quotedName = name
        .split('.')
        .map((part) => `"${part}"`)
        .join('.');
      return `SET ${quotedName} TO '${value.replace(/'/g, "''")}'`;
    })
    .join('; ');
}

/** What the target is asked for at startup, or the refusal the client gets instead. */
export type StartupJudgement =
  { forward: Record<string, string> } | { refused: { code: string; message: string; detail?: string; hint?: string } };

/**
 * Judges the StartupMessage's settings as the `SET`s they are, through the connection's gate (policy,
 * approvals, audit): all forwarded, or the connection refused with the gate's answer (naming the rule).
 * The wire encoding is forwarded as checked by the handshake; nothing else is.
 */
export async function judgeStartupSettings(
  gate: StatementGate,
  parameters: ReadonlyMap<string, string>,
  control: GateControl,
): Promise<StartupJudgement> {
  const found = startupSettings(parameters);
  if ('problem' in found) return { refused: { code: SQLSTATE.featureNotSupported, message: found.problem } };
  const forward: Record<string, string> = {};
  const encoding = found.settings.get(WIRE_ENCODING);
  if (encoding !== undefined) forward[WIRE_ENCODING] = encoding;
  found.settings.delete(WIRE_ENCODING);
  if (found.settings.size === 0) return { forward };
  const sql = settingsAsSql(found.settings);
  const verdict = await gate.check({ kind: 'query', sql }, control);
  if (!verdict.forward) {
    return {
      refused: {
        code: verdict.code,
        message: `startup parameters refused: ${verdict.message}`,
        detail: verdict.detail ?? `the connection asked for: ${sql}`,
        hint:
          verdict.hint ??
          'remove the setting from the connection string or PGOPTIONS, or ask for a rule that allows it',
      },
    };
  }
  for (const [name, value] of found.settings) forward[name] = value;
  return { forward };
}
