import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * The TLS material of a loopback listener: a CA made for this one proxy run (its key is never
 * written anywhere) and the 127.0.0.1/localhost certificate it signed. kubectl sends a bearer
 * token only over TLS, so the Kubernetes listener needs a certificate the job's KUBECONFIG can
 * pin (`certificate-authority-data: <ca>`).
 */
export interface LocalTlsMaterial {
  /** PEM of the CA, for the client to trust. */
  ca: string;
  cert: string;
  key: string;
}

/** How long the certificates are valid: longer than any session, short enough to be useless later. */
const VALIDITY_MS = 8 * 24 * 3600 * 1000;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const explicit = (n: number, item: Buffer) => tlv(0xa0 + n, item);
const octets = (content: Buffer) => tlv(0x04, content);
const bits = (content: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), content);
const TRUE = tlv(0x01, Buffer.from([0xff]));

function integer(value: Buffer): Buffer {
  return tlv(0x02, value[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(at: Date): Buffer {
  const iso = at.toISOString();
  return tlv(
    0x17,
    Buffer.from(
      `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`,
    ),
  );
}

const name = (cn: string) => seq(tlv(0x31, seq(oid(OID.commonName), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const extension = (id: string, value: Buffer, critical = false) =>
  seq(oid(id), ...(critical ? [TRUE] : []), octets(value));

function keyId(spki: Buffer): Buffer {
  return createHash('sha1').update(spki).digest();
}

interface Signed {
  der: Buffer;
  pem: string;
}

function certificate(
  subject: string,
  issuer: string,
  spki: Buffer,
  signer: KeyObject,
  extensions: Buffer[],
  now: Date,
): Signed {
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const validity = seq(time(new Date(now.getTime() - 3600_000)), time(new Date(now.getTime() + VALIDITY_MS)));
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    algorithm,
    name(issuer),
    validity,
    name(subject),
    spki,
    explicit(3, seq(...extensions)),
  );
  const der = seq(tbs, algorithm, bits(sign('sha256', tbs, signer)));
  const lines = der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return { der, pem: `-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n` };
}

/** A fresh CA and a server certificate for 127.0.0.1, ::1 and localhost (ECDSA P-256, SHA-256). */
export function generateLocalTls(now: Date = new Date()): LocalTlsMaterial {
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serverKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caSpki = caKeys.publicKey.export({ type: 'spki', format: 'der' });
  const serverSpki = serverKeys.publicKey.export({ type: 'spki', format: 'der' });
  const caName = `gatehouse local proxy CA ${randomBytes(4).toString('hex')}`;
  const ca = certificate(
    caName,
    caName,
    caSpki,
    caKeys.privateKey,
    [
      extension(OID.basicConstraints, seq(TRUE), true),
      extension(OID.keyUsage, bits(Buffer.from([0x06]), 1), true),
      extension(OID.subjectKeyId, octets(keyId(caSpki))),
    ],
    now,
  );
  const san = seq(
    tlv(0x82, Buffer.from('localhost')),
    tlv(0x87, Buffer.from([127, 0, 0, 1])),
    tlv(0x87, Buffer.from([...Array(15).fill(0), 1])),
  );
  const server = certificate(
    'localhost',
    caName,
    serverSpki,
    caKeys.privateKey,
    [
      extension(OID.basicConstraints, seq(), true),
      extension(OID.keyUsage, bits(Buffer.from([0x80]), 7), true),
      extension(OID.extKeyUsage, seq(oid(OID.serverAuth))),
      extension(OID.subjectAltName, san),
      extension(OID.authorityKeyId, seq(tlv(0x80, keyId(caSpki)))),
    ],
    now,
  );
  return {
    ca: ca.pem,
    cert: server.pem,
    key: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
