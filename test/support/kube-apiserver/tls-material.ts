import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM texts of a throw-away CA, the server certificate it signed, and a client certificate. */
export interface TlsMaterial {
  ca: string;
  serverCert: string;
  serverKey: string;
  /** A client certificate (CN = `clientName`, O = `system:masters`) the stand-in accepts. */
  clientCert: string;
  clientKey: string;
  clientName: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function signed(dir: string, name: string, subject: string, extensions: string): void {
  openssl(
    dir,
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ]),
  );
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]),
  );
}

/**
 * Generates the material with the openssl CLI (Node has no certificate builder): a CA, a server
 * certificate for 127.0.0.1/localhost, and a client certificate for `clientName`.
 */
export function generateTlsMaterial(clientName = 'gatehouse-gateway'): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kube-tls-'));
  try {
    openssl(
      dir,
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '2',
        '-subj',
        '/CN=stand-in-kubernetes-ca',
      ]),
    );
    signed(
      dir,
      'server',
      '/CN=kube-apiserver',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
    );
    signed(dir, 'client', `/O=system:masters/CN=${clientName}`, 'extendedKeyUsage=clientAuth\n');
    const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
    return {
      ca: read('ca.crt'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
      clientName,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
