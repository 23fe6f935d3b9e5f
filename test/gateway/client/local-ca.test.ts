import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { generateLocalTls } from '../../../gateway/client/local-ca.ts';

describe('the local proxy CA', () => {
  it('signs a loopback server certificate a TLS client verifies against it alone', async () => {
    const material = generateLocalTls();
    const server = tls.createServer({ cert: material.cert, key: material.key }, (socket) => socket.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<string>((resolve, reject) => {
      const client = tls.connect({ host: '127.0.0.1', port, ca: material.ca }, () => {
        client.once('data', (data) => resolve(`${client.authorized}:${data}`));
      });
      client.once('error', reject);
    });
    server.close();
    expect(answer).toBe('true:ok');
  });

  it('makes a CA certificate and a server certificate for 127.0.0.1, ::1 and localhost only', () => {
    const material = generateLocalTls();
    const ca = new X509Certificate(material.ca);
    const leaf = new X509Certificate(material.cert);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(leaf.checkHost('example.com')).toBeUndefined();
  });

  it('is a different CA on every run', () => {
    expect(generateLocalTls().ca).not.toBe(generateLocalTls().ca);
  });
});
