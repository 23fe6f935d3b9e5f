import net from 'node:net';

/**
 * Decides once per test run which PostgreSQL the data-path tests use: the real server at
 * 127.0.0.1:5432 when it answers, else embedded PGlite. Under CI the real server is mandatory.
 */
export default async function setup(): Promise<void> {
  const answers = await portAnswers('127.0.0.1', 5432);
  if (!answers && process.env.CI === 'true') {
    throw new Error(
      'CI=true but no PostgreSQL answers on 127.0.0.1:5432. Start it with ' +
        "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'.",
    );
  }
  process.env.GATEHOUSE_TEST_PG = answers ? 'real' : 'pglite';
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
