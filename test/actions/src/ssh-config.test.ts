import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addSshInclude, removeSshInclude, renderSshConfig, writeSshConfig } from '../../../actions/src/ssh-config.ts';

const dirs: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-config-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('ssh config for SSH connections', () => {
  it('writes a strict Host entry per SSH connection with the pinned key under the connection alias', () => {
    const rendered = renderSshConfig(
      [
        { name: 'app-db', type: 'postgres', host: '127.0.0.1', port: 1 },
        {
          name: 'deploy-host',
          type: 'ssh',
          host: '127.0.0.1',
          port: 2222,
          identity_file: '/tmp/k',
          known_hosts: '[127.0.0.1]:2222 ssh-ed25519 AAAAC3',
        },
      ],
      '/run/known_hosts',
    )!;
    expect(rendered.config).toContain(
      'Host deploy-host\n  HostName 127.0.0.1\n  Port 2222\n  User deploy-host\n  HostKeyAlias deploy-host\n  StrictHostKeyChecking yes',
    );
    expect(rendered.config).toContain('IdentityFile "/tmp/k"\n  IdentitiesOnly yes');
    expect(rendered.config).not.toContain('Host app-db');
    expect(rendered.knownHosts).toBe('deploy-host ssh-ed25519 AAAAC3\n');
  });

  it('writes nothing when no SSH connection is open', () => {
    const dir = temp();
    expect(writeSshConfig(dir, [{ name: 'app-db', type: 'postgres', host: '127.0.0.1', port: 1 }])).toBeUndefined();
  });

  it('includes the config at the top of ~/.ssh/config once and removes only its own line', () => {
    const home = temp();
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'config'), 'Host github.com\n  User git\n');
    addSshInclude(home, '/run/g/ssh_config');
    addSshInclude(home, '/run/g/ssh_config');
    const config = join(home, '.ssh', 'config');
    expect(readFileSync(config, 'utf8')).toBe('Include "/run/g/ssh_config"\nHost github.com\n  User git\n');
    expect(statSync(config).mode & 0o777).toBe(0o600);
    removeSshInclude(home, '/run/g/ssh_config');
    expect(readFileSync(config, 'utf8')).toBe('Host github.com\n  User git\n');
  });
});
