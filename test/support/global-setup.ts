import net from 'node:net';

/**
 * Decides once per test run which PostgreSQL the data-path tests use: the real server at
 * 127.0.0.1:5432 when it answers, else embedded PGlite; and whether the MariaDB at
 * 127.0.0.1:3306 answers (the MySQL tests say they are skipped without it). Under CI both
 * real servers are mandatory.
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
  const mariadb = await portAnswers('127.0.0.1', 3306);
  if (!mariadb && process.env.CI === 'true') {
    throw new Error(
      'CI=true but no MariaDB answers on 127.0.0.1:3306. Start it with ' +
        "'service mariadb start' (or 'mysqld_safe &'); the MySQL adapter tests need the real server.",
    );
  }
  if (!mariadb) console.warn('MariaDB does not answer on 127.0.0.1:3306: the MySQL data-path tests are skipped.');
  process.env.GATEHOUSE_TEST_MYSQL = mariadb ? 'real' : 'absent';
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
