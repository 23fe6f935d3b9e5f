import type { Token } from './lexer.ts';
import { fromFacts, mysqlUnknown, type MysqlStatementAnalysis } from './mysql-analysis.ts';
import { emptyAstFacts } from './ast-facts.ts';

const up = (t: Token | undefined) => (t?.type === 'word' ? t.value.toUpperCase() : '');
const nameOf = (t: Token | undefined) => (t && (t.type === 'word' || t.type === 'identifier') ? t.value : undefined);

/** Analyses the rest of a statement (an inner SELECT, a prepared text) with the full pipeline. */
export type AnalyzeTokens = (tokens: Token[], text: string) => MysqlStatementAnalysis;
export type AnalyzeText = (sql: string) => readonly MysqlStatementAnalysis[];

/**
 * Statements the grammar does not know but the gateway must classify exactly, recognised on
 * the server's own tokens: LOAD DATA, SELECT ... INTO OUTFILE/DUMPFILE, PREPARE/EXECUTE/
 * DEALLOCATE, account statements, START TRANSACTION WITH CONSISTENT SNAPSHOT, DO, plugins.
 * Returns undefined for everything else (the grammar decides).
 */
export function analyzeByTokens(
  tokens: Token[],
  text: string,
  analyze: AnalyzeTokens,
  analyzeText: AnalyzeText,
): MysqlStatementAnalysis | undefined {
  const w = tokens.map(up);
  const facts = emptyAstFacts();
  if (w[0] === 'LOAD' && (w[1] === 'DATA' || w[1] === 'XML')) return loadData(tokens, w, text);
  const into = w.findIndex((x, i) => x === 'INTO' && (w[i + 1] === 'OUTFILE' || w[i + 1] === 'DUMPFILE'));
  if (into > 0 && (w[0] === 'SELECT' || w[0] === 'WITH' || tokens[0]?.value === '('))
    return outfile(tokens, w, into, text, analyze);
  const prepared = preparedStatement(tokens, w, text, analyzeText);
  if (prepared) return prepared;
  if (
    ['CREATE', 'ALTER', 'DROP', 'RENAME'].includes(w[0]!) &&
    (w[1] === 'USER' || w[1] === 'ROLE' || (w[1] === 'OR' && w[3] === 'USER'))
  )
    return fromFacts('privilege', `${w[0]} ${w[1] === 'OR' ? 'USER' : w[1]}`, facts, text, null);
  if (w[0] === 'SET' && (w[1] === 'PASSWORD' || w[1] === 'ROLE' || (w[1] === 'DEFAULT' && w[2] === 'ROLE')))
    return fromFacts('privilege', `SET ${w[1] === 'DEFAULT' ? 'DEFAULT ROLE' : w[1]}`, facts, text, null);
  if (w[0] === 'SET' && w[1] === 'STATEMENT')
    return mysqlUnknown(
      text,
      'SET STATEMENT ... FOR changes settings (sql_mode among them) for its statement, which the gateway does not model',
    );
  if (
    w[0] === 'START' &&
    w[1] === 'TRANSACTION' &&
    w
      .slice(2)
      .every(
        (x, i) =>
          ['WITH', 'CONSISTENT', 'SNAPSHOT', 'READ', 'ONLY', 'WRITE'].includes(x) || tokens[i + 2]?.value === ',',
      )
  )
    return fromFacts('transaction', 'START TRANSACTION', facts, text, null);
  if (w[0] === 'DO' && tokens.length > 1) {
    const inner = analyze([{ ...tokens[0]!, value: 'SELECT' }, ...tokens.slice(1)], text);
    return inner.kind === 'unknown' ? inner : { ...inner, command: 'DO' };
  }
  if (w[0] === 'INSTALL' || w[0] === 'UNINSTALL' || w[0] === 'SHUTDOWN' || (w[0] === 'CREATE' && w.includes('SONAME')))
    return fromFacts('admin', `${w[0]}${w[1] ? ` ${w[1]}` : ''}`, facts, text, null, {
      opaqueCode: w.includes('SONAME') || w[0] === 'INSTALL',
    });
  if (w[0] === 'CHECKSUM' && w[1] === 'TABLE') {
    const tables = tokens
      .slice(2)
      .filter((t, i, all) => nameOf(t) && up(t) !== 'QUICK' && up(t) !== 'EXTENDED' && all[i - 1]?.value !== '.');
    for (const t of tables) facts.tablesRead.add(t.value);
    return fromFacts('read', 'CHECKSUM TABLE', facts, text, null);
  }
  return undefined;
}

/** PREPARE name FROM 'text' (the text analysed as what runs), EXECUTE name, DEALLOCATE PREPARE name. */
function preparedStatement(
  tokens: Token[],
  w: string[],
  text: string,
  analyzeText: AnalyzeText,
): MysqlStatementAnalysis | undefined {
  const facts = emptyAstFacts();
  if (w[0] === 'PREPARE' && w[2] === 'FROM') {
    const name = nameOf(tokens[1]);
    const source = tokens[3];
    if (!name || source?.type !== 'string' || tokens.length !== 4)
      return mysqlUnknown(text, 'PREPARE from a variable: the gateway cannot know the statement text');
    const inner = analyzeText(source.value);
    if (inner.length !== 1) return mysqlUnknown(text, 'PREPARE of other than one statement');
    return { ...inner[0]!, text, preparedName: name };
  }
  if (w[0] === 'EXECUTE' && nameOf(tokens[1])) {
    const vars = tokens.filter((t) => t.type === 'variable' && !t.value.startsWith('@@')).map((t) => t.value.slice(1));
    const name = nameOf(tokens[1])!;
    return {
      ...mysqlUnknown(
        text,
        `EXECUTE of prepared statement "${name}" that this connection never prepared through the gateway`,
      ),
      command: 'EXECUTE',
      executeName: name,
      userVariables: vars,
    };
  }
  if ((w[0] === 'DEALLOCATE' || w[0] === 'DROP') && w[1] === 'PREPARE' && tokens.length === 3)
    return fromFacts('utility', 'DEALLOCATE', facts, text, null, { deallocateName: nameOf(tokens[2]) ?? '' });
  return undefined;
}

function loadData(tokens: Token[], w: string[], text: string): MysqlStatementAnalysis {
  let i = 2;
  while (w[i] === 'LOW_PRIORITY' || w[i] === 'CONCURRENT') i++;
  const local = w[i] === 'LOCAL';
  if (local) i++;
  const file = tokens[i + 1];
  if (w[i] !== 'INFILE' || file?.type !== 'string')
    return mysqlUnknown(text, 'a LOAD statement the gateway cannot read');
  i += 2;
  if (w[i] === 'REPLACE' || w[i] === 'IGNORE') i++;
  if (w[i] !== 'INTO' || w[i + 1] !== 'TABLE') return mysqlUnknown(text, 'a LOAD statement the gateway cannot read');
  const parts = [nameOf(tokens[i + 2])];
  if (tokens[i + 3]?.value === '.') parts.push(nameOf(tokens[i + 4]));
  if (parts.some((p) => p === undefined)) return mysqlUnknown(text, 'a LOAD statement the gateway cannot read');
  const facts = emptyAstFacts();
  facts.tablesWritten.add(parts.join('.'));
  return fromFacts('write', local ? 'LOAD DATA LOCAL' : 'LOAD DATA', facts, text, null, {
    copyServerFile: !local,
    copyStdio: local,
    copyDirection: 'from',
    file: file.value,
  });
}

const EXPORT_WORDS = new Set([
  'CHARACTER',
  'SET',
  'FIELDS',
  'COLUMNS',
  'TERMINATED',
  'BY',
  'OPTIONALLY',
  'ENCLOSED',
  'ESCAPED',
  'LINES',
  'STARTING',
]);

function outfile(
  tokens: Token[],
  w: string[],
  into: number,
  text: string,
  analyze: AnalyzeTokens,
): MysqlStatementAnalysis {
  const file = tokens[into + 2];
  if (file?.type !== 'string') return mysqlUnknown(text, 'INTO OUTFILE without a file name');
  let end = into + 3;
  while (
    end < tokens.length &&
    (EXPORT_WORDS.has(w[end]!) ||
      tokens[end]!.type === 'string' ||
      (w[end - 1] === 'SET' && tokens[end]!.type === 'word'))
  )
    end++;
  const rest = [...tokens.slice(0, into), ...tokens.slice(end)];
  const inner = analyze(rest, text);
  if (inner.kind === 'unknown') return inner;
  return {
    ...inner,
    command: `SELECT INTO ${w[into + 1]}`,
    copyServerFile: true,
    copyDirection: 'to',
    file: file.value,
  };
}
