import net from 'node:net';

/** A TCP balancer in front of replicas: each new connection goes to the next backend that accepts it. */
export interface RoundRobin {
  port: number;
  /** Connections handed to each backend port. */
  counts: Map<number, number>;
  close(): Promise<void>;
}

/**
 * What a load balancer in front of several gateways does, at layer 4: connection by connection,
 * round-robin over `backends`; a backend that refuses the connection (a replica that died) is
 * skipped, and the client is cut only when none accepts.
 */
export async function startRoundRobin(backends: readonly number[]): Promise<RoundRobin> {
  const counts = new Map<number, number>(backends.map((port) => [port, 0]));
  const open = new Set<net.Socket>();
  let next = 0;

  function connect(client: net.Socket, tries: number): void {
    if (tries >= backends.length || client.destroyed) return void client.destroy();
    const port = backends[next++ % backends.length]!;
    const upstream = net.connect({ host: '127.0.0.1', port });
    let connected = false;
    open.add(upstream);
    upstream.on('error', () => {});
    upstream.once('connect', () => {
      connected = true;
      counts.set(port, (counts.get(port) ?? 0) + 1);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    upstream.once('close', () => {
      open.delete(upstream);
      if (!connected) return connect(client, tries + 1);
      client.destroy();
    });
    client.once('close', () => upstream.destroy());
  }

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.on('error', () => {});
    client.once('close', () => open.delete(client));
    connect(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
