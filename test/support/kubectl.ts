import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Where the versioned kubectl binaries are: `$GATEHOUSE_TEST_KUBECTL_DIR`, else beside the real
 * location the kubectl package installs (the `kubectl` on PATH is a dispatcher that picks a
 * version by the server's, which tests must not depend on).
 */
function kubectlDir(): string {
  if (process.env.GATEHOUSE_TEST_KUBECTL_DIR) return process.env.GATEHOUSE_TEST_KUBECTL_DIR;
  try {
    const files = execFileSync('dpkg', ['-L', 'kubectl'], { encoding: 'utf8' }).split('\n');
    const versioned = files.find((file) => /\/kubectl\.1\.\d+$/.test(file));
    if (versioned) return dirname(versioned);
  } catch {}
  return '/usr/lib/google-cloud-sdk/bin';
}

/** The path of `kubectl.1.<minor>`; a clear error naming the fix when it is missing. */
export function kubectlBinary(minor: number): string {
  const path = join(kubectlDir(), `kubectl.1.${minor}`);
  if (!existsSync(path))
    throw new Error(
      `${path} is missing: install the kubectl package (Google Cloud SDK apt repository, it ships kubectl.1.27..1.33) ` +
        'or set GATEHOUSE_TEST_KUBECTL_DIR to a folder holding kubectl.1.<minor> binaries',
    );
  return path;
}

export interface KubeconfigInput {
  server: string;
  ca: string;
  namespace?: string;
  token?: string;
  clientCert?: string;
  clientKey?: string;
}

/** A kubeconfig with one cluster, user and context, as YAML text. */
export function kubeconfigText(input: KubeconfigInput): string {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const user = input.token
    ? `token: ${JSON.stringify(input.token)}`
    : `client-certificate-data: ${b64(input.clientCert ?? '')}\n    client-key-data: ${b64(input.clientKey ?? '')}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: test\n  cluster:\n    server: ${input.server}\n    certificate-authority-data: ${b64(input.ca)}`,
    'users:',
    `- name: test\n  user:\n    ${user}`,
    'contexts:',
    `- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: ${input.namespace ?? 'default'}`,
    'current-context: test',
    '',
  ].join('\n');
}

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One kubectl version with its own HOME (kubectl caches discovery there) and kubeconfig. */
export interface Kubectl {
  minor: number;
  home: string;
  kubeconfig: string;
  run(args: readonly string[], options?: { stdin?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** A long-running kubectl (get -w, logs -f): the caller ends it. */
  start(args: readonly string[]): ChildProcess;
  dispose(): void;
}

export function createKubectl(minor: number, kubeconfig: string): Kubectl {
  const binary = kubectlBinary(minor);
  const home = mkdtempSync(join(tmpdir(), `gatehouse-kubectl-1.${minor}-`));
  const path = join(home, 'kubeconfig');
  writeFileSync(path, kubeconfig, { mode: 0o600 });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, KUBECONFIG: path };
  const start = (args: readonly string[]): ChildProcess =>
    spawn(binary, [...args], { env, cwd: home, stdio: ['pipe', 'pipe', 'pipe'] });
  return {
    minor,
    home,
    kubeconfig: path,
    start,
    run(args, options = {}) {
      return new Promise((resolve) => {
        const child = start(args);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
        child.stdin!.end(options.stdin ?? '');
      });
    },
    dispose: () => rmSync(home, { recursive: true, force: true }),
  };
}
