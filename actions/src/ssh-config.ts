import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalConnection } from './client-env.ts';

/**
 * What the local proxy may announce for an SSH listener beyond host and port: the ephemeral key
 * it registered with the session and the gateway's pinned host key. Without a pinned host key
 * the entry still uses `StrictHostKeyChecking yes`, so ssh refuses instead of trusting on first use.
 */
export type SshListener = Omit<LocalConnection, 'known_hosts'> & { known_hosts?: string | string[] };

/** The ssh_config text with one `Host <connection>` entry per SSH listener, or undefined when there is none. */
export function renderSshConfig(
  connections: readonly SshListener[],
  knownHostsFile: string,
): { config: string; knownHosts: string } | undefined {
  const ssh = connections.filter((c) => c.type === 'ssh');
  if (ssh.length === 0) return undefined;
  const known: string[] = [];
  const blocks = ssh.map((c) => {
    const lines = [
      `Host ${c.name}`,
      `  HostName ${c.host}`,
      `  Port ${c.port}`,
      `  User ${c.user ?? c.name}`,
      `  HostKeyAlias ${c.name}`,
      '  StrictHostKeyChecking yes',
      `  UserKnownHostsFile "${knownHostsFile}"`,
      '  GlobalKnownHostsFile /dev/null',
      '  UpdateHostKeys no',
      '  ForwardAgent no',
      '  ClearAllForwardings yes',
    ];
    if (c.identity_file) lines.push(`  IdentityFile "${c.identity_file}"`, '  IdentitiesOnly yes');
    for (const line of [c.known_hosts ?? []].flat()) known.push(aliased(line, c.name));
    return lines.join('\n');
  });
  return {
    config: `# Written by the Gatehouse action for this job; removed by actions/disconnect.\n${blocks.join('\n\n')}\n`,
    knownHosts: known.length ? `${known.join('\n')}\n` : '',
  };
}

/** known_hosts lines name the host as the proxy's address; pin them to the Host alias instead. */
function aliased(line: string, name: string): string {
  const parts = line.trim().split(/\s+/);
  return parts.length >= 3 ? [name, ...parts.slice(1)].join(' ') : line.trim();
}

/** Writes the session's ssh_config and known_hosts into its private folder; returns the config path. */
export function writeSshConfig(dir: string, connections: readonly SshListener[]): string | undefined {
  const knownHostsFile = join(dir, 'known_hosts');
  const rendered = renderSshConfig(connections, knownHostsFile);
  if (!rendered) return undefined;
  const file = join(dir, 'ssh_config');
  writeFileSync(knownHostsFile, rendered.knownHosts, { mode: 0o600 });
  writeFileSync(file, rendered.config, { mode: 0o600 });
  return file;
}

/**
 * Puts `Include <file>` at the top of `~/.ssh/config` so `ssh <connection>` works unchanged in
 * later steps; OpenSSH ignores an Include whose file is gone, so a missed cleanup is harmless.
 */
export function addSshInclude(home: string, file: string): void {
  const dir = join(home, '.ssh');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'config');
  const current = existsSync(config) ? readFileSync(config, 'utf8') : '';
  const line = includeLine(file);
  if (current.split('\n').includes(line)) return;
  writeFileSync(config, `${line}\n${current}`, { mode: 0o600 });
  chmodSync(config, 0o600);
}

/** Removes the Include line `addSshInclude` added, leaving the rest of the user's config as it was. */
export function removeSshInclude(home: string, file: string): void {
  const config = join(home, '.ssh', 'config');
  if (!existsSync(config)) return;
  const line = includeLine(file);
  const current = readFileSync(config, 'utf8');
  const kept = current.split('\n').filter((l) => l !== line);
  if (kept.length !== current.split('\n').length) writeFileSync(config, kept.join('\n'));
}

function includeLine(file: string): string {
  return `Include "${file}"`;
}
