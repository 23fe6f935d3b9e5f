import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../config/load-config.ts';
import { startGateway, type RunningGateway } from '../server/gateway.ts';

const SHIPPED = new URL('../../policies/', import.meta.url);
const HERE = new URL('./', import.meta.url);

/** Everything the demo runs on one machine: an embedded target database and a gateway in front of it. */
export interface DemoEnvironment {
  gateway: RunningGateway;
  /** The audience dev tokens are minted for (the gateway's public URL). */
  publicUrl: string;
  dir: string;
  close(): Promise<void>;
}

/**
 * Starts an embedded PGlite target (served over a socket) with the demo's sample data and a
 * gateway with the shipped policies, the dev issuer and an in-memory store: nothing to install.
 */
export async function startDemoEnvironment(log: (line: string) => void): Promise<DemoEnvironment> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  await db.exec(readFileSync(new URL('sample-data.sql', HERE), 'utf8'));
  const target = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await target.start();
  const targetAddress = target.getServerConn();

  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-demo-'));
  const policies = path.join(dir, 'policies');
  mkdirSync(policies);
  for (const [from, to] of [
    [new URL('default.yaml', SHIPPED), '00-default.yaml'],
    [new URL('examples/masking.yaml', SHIPPED), '10-masking.yaml'],
    [new URL('demo-policy.yaml', HERE), '20-demo.yaml'],
  ] as const) {
    copyFileSync(from, path.join(policies, to));
  }
  const file = path.join(dir, 'gatehouse.yaml');
  const httpPort = await freePort();
  const publicUrl = `http://127.0.0.1:${httpPort}`;
  const yaml = [
    `listen: { http: "127.0.0.1:${httpPort}", postgres: "127.0.0.1:0" }`,
    `public_url: ${publicUrl}`,
    'store: memory://',
    `policies: ${policies}`,
    'issuers: [{ issuer: dev }]',
    'connections:',
    '  shop-db:',
    '    type: postgres',
    `    url: postgres://postgres@${targetAddress}/postgres`,
  ].join('\n');
  writeFileSync(file, yaml);
  const gateway = await startGateway(parseConfig(yaml, file), { log });
  return {
    gateway,
    publicUrl,
    dir,
    async close() {
      await gateway.close();
      await target.stop();
      await db.close();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
