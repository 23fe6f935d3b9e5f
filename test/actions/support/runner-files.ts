import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The files and folders a GitHub runner gives a step, in a private temp folder. */
export interface RunnerFiles {
  root: string;
  env: Record<string, string>;
  outputs(): Record<string, string>;
  exported(): Record<string, string>;
  summary(): string;
  cleanup(): void;
}

export function createRunnerFiles(): RunnerFiles {
  const root = mkdtempSync(join(tmpdir(), 'gh-runner-'));
  const files = {
    GITHUB_OUTPUT: join(root, 'output'),
    GITHUB_ENV: join(root, 'env'),
    GITHUB_STATE: join(root, 'state'),
    GITHUB_STEP_SUMMARY: join(root, 'summary.md'),
    GITHUB_PATH: join(root, 'path'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const runnerTemp = join(root, 'temp');
  const toolCache = join(root, 'tool-cache');
  const home = join(root, 'home');
  mkdirSync(home);
  return {
    root,
    env: {
      ...files,
      HOME: home,
      RUNNER_TEMP: runnerTemp,
      RUNNER_TOOL_CACHE: toolCache,
      GITHUB_ACTIONS: 'true',
      RUNNER_OS: 'Linux',
    },
    outputs: () => parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    exported: () => parseFileCommands(readFileSync(files.GITHUB_ENV, 'utf8')),
    summary: () => readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Parses the runner's file-command format: `name<<DELIM\nvalue\nDELIM` (and plain `name=value`). */
export function parseFileCommands(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i += 1; i < lines.length && lines[i] !== delimiter; i += 1) value.push(lines[i]!);
      result[name!] = value.join('\n');
    } else if (line.includes('=')) {
      result[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return result;
}
