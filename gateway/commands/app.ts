import http from 'node:http';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { loadConfig } from '../config/load-config.ts';
import { createAppHandler, WEBHOOK_PATH } from '../../app/embedded.ts';
import { APP_NOTIFY_PATH } from '../../wire/approvals.ts';
import { parseCommandArgs } from './command-args.ts';

const USAGE = 'usage: gatehouse app [--config gatehouse.yaml] [--listen 127.0.0.1:3000]';

/** The config with what the app needs checked: its credentials and the secret it shares with the gateway. */
function appConfig(file: string) {
  const config = loadConfig(file);
  if (!config.app)
    throw new GatehouseError(
      'app.not-configured',
      `${config.file}: add app: { app_id, private_key, webhook_secret } to run the GitHub App (see app/README.md)`,
    );
  if (!config.approvals.secret)
    throw new GatehouseError(
      'app.no-secret',
      `${config.file}: set approvals.secret, shared by the gateway and the app, so their messages can be verified`,
    );
  return { config, app: config.app, secret: config.approvals.secret };
}

/** Hands a request to the app; what it does not serve is a 404 naming the webhook path, a failure a 500. */
function answer(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  handle(req, res).then(
    (done) => {
      if (!done)
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ message: `not found; webhooks go to ${WEBHOOK_PATH}` }));
    },
    () => {
      if (!res.headersSent) res.writeHead(500).end();
    },
  );
}

/**
 * `gatehouse app`: runs only the GitHub App, for a deployment where the app lives apart from the
 * gateway. It reads `app:` (credentials), `approvals.secret` and `public_url` (the gateway) from
 * gatehouse.yaml; point the gateway's `approvals.notify_url` at this process.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    {
      args: argv,
      options: {
        config: { type: 'string', default: 'gatehouse.yaml' },
        listen: { type: 'string', default: '127.0.0.1:3000' },
        help: { type: 'boolean', default: false },
      },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { config, app, secret } = appConfig(values.config!);
  const match = /^(.*):(\d+)$/.exec(values.listen!);
  if (!match) throw new GatehouseError('cli.usage', `--listen must be host:port, got '${values.listen}'`);
  const { handle } = await createAppHandler({
    appId: app.appId,
    privateKey: app.privateKey,
    webhookSecret: app.webhookSecret,
    baseUrl: app.baseUrl,
    gatewayUrl: config.publicUrl,
    approvalsSecret: secret,
  });
  const server = http.createServer((req, res) => answer(handle, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new GatehouseError(
          'app.listen',
          `cannot listen on ${values.listen}: ${error.message}; pick a free --listen address`,
        ),
      ),
    );
    server.listen(Number(match[2]), match[1], resolve);
  });
  process.stdout.write(
    `gatehouse app: webhooks at http://${values.listen}${WEBHOOK_PATH}, approval requests at http://${values.listen}${APP_NOTIFY_PATH}, gateway ${config.publicUrl}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
  return 0;
}
