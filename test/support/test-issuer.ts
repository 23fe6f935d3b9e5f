import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { githubLikeClaims } from '../../gateway/identity/dev-issuer.ts';

/** Options of one minted token: header and timing overrides on top of GitHub's claim set. */
export interface MintOverrides {
  /** Seconds relative to now; defaults iat/nbf = now, exp = now + 300. */
  iat?: number;
  nbf?: number;
  exp?: number;
  iss?: string;
  aud?: string;
  jti?: string;
  kid?: string;
  /** Sign with a key the JWKS does not publish (same kid unless `kid` is set). */
  forge?: boolean;
  /** Leave a claim out entirely. */
  omit?: string[];
}

/** A local OIDC issuer for tests: RSA keys, JWKS and discovery over real HTTP, GitHub-shaped tokens. */
export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  audience: string;
  publicJwk: JWK;
  /** Publishes a new signing key next to the old one; later tokens are signed with it. */
  rotate(): Promise<void>;
  /** How many times the JWKS was fetched (cache and rate-limit checks). */
  jwksFetches(): number;
  mint(claims?: Record<string, unknown>, overrides?: MintOverrides): Promise<string>;
  /** An unsigned token (`alg: none`) with the same claims. */
  mintUnsigned(claims?: Record<string, unknown>): string;
  /** An HS256 token whose HMAC secret is the issuer's public key (the classic key-confusion attack). */
  mintHmacWithPublicKey(claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIssuer(audience: string): Promise<TestIssuer> {
  let pair = await generateKeyPair('RS256', { extractable: true });
  const forged = await generateKeyPair('RS256');
  let kid = `test-${randomUUID().slice(0, 8)}`;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const published: JWK[] = [publicJwk];
  let fetches = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks') {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
    } else if (req.url === '/.well-known/openid-configuration') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ issuer, jwks_uri: `${issuer}/.well-known/jwks` }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function payload(claims: Record<string, unknown>, o: MintOverrides): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    const body: Record<string, unknown> = {
      ...githubLikeClaims(claims),
      iss: o.iss ?? issuer,
      aud: o.aud ?? audience,
      iat: now + (o.iat ?? 0),
      nbf: now + (o.nbf ?? 0),
      exp: now + (o.exp ?? 300),
      jti: o.jti ?? randomUUID(),
    };
    for (const name of o.omit ?? []) delete body[name];
    return body;
  }

  return {
    issuer,
    jwksUri: `${issuer}/.well-known/jwks`,
    audience,
    publicJwk,
    jwksFetches: () => fetches,
    async rotate() {
      pair = await generateKeyPair('RS256', { extractable: true });
      kid = `test-${randomUUID().slice(0, 8)}`;
      published.push({ ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' });
    },
    mint(claims = {}, o = {}) {
      return new SignJWT(payload(claims, o))
        .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? kid, typ: 'JWT' })
        .sign(o.forge ? forged.privateKey : pair.privateKey);
    },
    mintUnsigned(claims = {}) {
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload(claims, {}))}.`;
    },
    async mintHmacWithPublicKey(claims = {}) {
      const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
      return new SignJWT(payload(claims, {})).setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' }).sign(secret);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
