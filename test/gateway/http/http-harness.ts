import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { Registry } from 'prom-client';
import type { GatehouseConfig } from '../../../gateway/config/config-types.ts';
import { createLiveSessions } from '../../../gateway/enforcement/live-sessions.ts';
import { createHttpApp, type HttpAppOptions } from '../../../gateway/http/http-app.ts';
import type { IdentityRuleSpec } from '../../../gateway/policy/policy-types.ts';
import { createTrustedIssuers } from '../../../gateway/identity/issuers.ts';
import type { SessionContext } from '../../../gateway/identity/session-context.ts';
import { createSessionService, type SessionService } from '../../../gateway/identity/session-service.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import { startTestIssuer, type TestIssuer } from '../../support/test-issuer.ts';

/** A control API on a real port with a test issuer, an in-memory store and an echo tunnel target. */
export interface HttpHarness {
  url: string;
  issuer: TestIssuer;
  sessions: SessionService;
  server: http.Server;
  registry: Registry;
  tunnels: { connection: string; session: SessionContext }[];
  /** Shifts the gateway clock (session expiry checks). */
  setClockOffset(ms: number): void;
  grant(body?: Record<string, unknown>): Promise<{ id: string; token: string }>;
  close(): Promise<void>;
}

export const HARNESS_AUDIENCE = 'https://gatehouse.test';

export const harnessConfig: Pick<GatehouseConfig, 'connections' | 'staticTokens'> = {
  connections: {
    'app-db': { type: 'postgres', name: 'app-db', url: 'postgres://u@h/db', sslmode: 'disable', audit: 'required' },
    'other-db': { type: 'postgres', name: 'other-db', url: 'postgres://u@h/o', sslmode: 'disable', audit: 'required' },
    'deploy-host': {
      type: 'ssh',
      name: 'deploy-host',
      host: 'h',
      port: 22,
      user: 'u',
      hostKey: 'SHA256:x',
      audit: 'required',
    },
  },
  staticTokens: [],
};

const identities: IdentityRuleSpec[] = [
  { name: 'main', claims: { repository: 'acme/app', ref: 'refs/heads/main' }, connections: ['app-db'] },
  { name: 'ops', claims: { repository: 'acme/ops' }, connections: ['app-db', 'deploy-host'] },
];

/** Echoes every byte back, which is enough to prove a tunnel carries data both ways. */
function echo(_connection: string, stream: Duplex): void {
  stream.pipe(stream);
}

export async function startHttpHarness(overrides: Partial<HttpAppOptions> = {}): Promise<HttpHarness> {
  const issuer = await startTestIssuer(HARNESS_AUDIENCE);
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-http-'));
  const store = await createStore(path.join(dir, 'store'));
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  const issuers = await createTrustedIssuers([{ issuer: issuer.issuer, audience: HARNESS_AUDIENCE }], {
    store,
    publicUrl: HARNESS_AUDIENCE,
  });
  const sessions = createSessionService({ store, policy: { identities }, issuers, clock, config: harnessConfig });
  const registry = new Registry();
  const tunnels: HttpHarness['tunnels'] = [];
  const live = createLiveSessions(clock);
  sessions.onEnded((sessionId, reason) => live.end(sessionId, reason));
  const server = createHttpApp({
    sessions,
    live,
    clock,
    version: '0.1.0-test',
    metrics: registry,
    onTunnel: (connection, stream, session) => {
      tunnels.push({ connection, session });
      echo(connection, stream);
    },
    ...overrides,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    issuer,
    sessions,
    server,
    registry,
    tunnels,
    setClockOffset: (ms) => {
      offset = ms;
    },
    async grant(body = {}) {
      const response = await fetch(`${url}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: await issuer.mint(), ...body }),
      });
      if (response.status !== 201) throw new Error(`exchange failed: ${response.status} ${await response.text()}`);
      return (await response.json()) as { id: string; token: string };
    },
    async close() {
      sessions.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await issuer.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
