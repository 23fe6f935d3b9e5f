import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLiveSessions } from '../gateway/enforcement/live-sessions.ts';
import { createHttpApp } from '../gateway/http/http-app.ts';
import { createTrustedIssuers } from '../gateway/identity/issuers.ts';
import { systemClock } from '../gateway/identity/session-context.ts';
import { createSessionService } from '../gateway/identity/session-service.ts';
import { createStore } from '../gateway/store/create-store.ts';
import { startTestIssuer } from '../test/support/test-issuer.ts';
import type { BenchRow } from './bench-table.ts';

const AUDIENCE = 'https://gatehouse.bench';
const ROUNDS = 200;

/** A row of the `npm run bench` table (same shape as bench-table.ts's BenchRow). */

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * `POST /v1/sessions` over real HTTP with a warm remote JWKS cache and the embedded store on disk:
 * signature check, claims, single-use jti, rule match and session insert. Tokens are minted
 * beforehand so signing is not timed.
 */
export async function benchSessionExchange(rounds = ROUNDS): Promise<BenchRow[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-session-'));
  const issuer = await startTestIssuer(AUDIENCE);
  const store = await createStore(path.join(dir, 'store'));
  const issuers = await createTrustedIssuers([{ issuer: issuer.issuer, audience: AUDIENCE }], {
    store,
    publicUrl: AUDIENCE,
  });
  const sessions = createSessionService({
    store,
    issuers,
    clock: systemClock,
    policy: {
      identities: [
        { name: 'bench', claims: { repository: 'acme/app', ref: 'refs/heads/main' }, connections: ['app-db'] },
      ],
    },
    config: {
      connections: {
        'app-db': { type: 'postgres', name: 'app-db', url: 'postgres://u@h/db', sslmode: 'disable', audit: 'required' },
      },
      staticTokens: [],
    },
  });
  const server = createHttpApp({
    sessions,
    live: createLiveSessions(systemClock),
    clock: systemClock,
    version: 'bench',
    onTunnel: (_c, stream) => stream.destroy(),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/sessions`;
  try {
    const tokens = await Promise.all(Array.from({ length: rounds + 10 }, () => issuer.mint()));
    const samples: number[] = [];
    for (const [i, token] of tokens.entries()) {
      const started = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`exchange answered ${response.status}`);
      if (i >= 10) samples.push(performance.now() - started);
    }
    return [
      {
        benchmark: `session exchange (POST /v1/sessions, warm JWKS, ${rounds} tokens; JWKS fetched ${issuer.jwksFetches()}×)`,
        gateway: `p50 ${percentile(samples, 50).toFixed(2)} ms, p95 ${percentile(samples, 95).toFixed(2)} ms`,
        ratio: `${percentile(samples, 50).toFixed(2)} ms`,
        goal: 'p50 ≤ 20 ms',
      },
    ];
  } finally {
    sessions.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await issuer.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
