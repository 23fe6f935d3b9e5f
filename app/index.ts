import type { ApplicationFunction } from 'probot';
import { createGatehouseApp } from './gatehouse-app.ts';

export { createGatehouseApp, type GatehouseAppSettings } from './gatehouse-app.ts';

/**
 * The Probot app function, for `probot run ./app/index.ts` and `gatehouse app`: the gateway URL
 * and shared secret come from GATEHOUSE_GATEWAY_URL and GATEHOUSE_APPROVALS_SECRET.
 */
const gatehouseApp: ApplicationFunction = (app, options) => {
  const gatewayUrl = process.env.GATEHOUSE_GATEWAY_URL;
  const secret = process.env.GATEHOUSE_APPROVALS_SECRET;
  if (!gatewayUrl || !secret) {
    throw new Error(
      'set GATEHOUSE_GATEWAY_URL (the gateway public_url) and GATEHOUSE_APPROVALS_SECRET (its approvals.secret) to run the Gatehouse app',
    );
  }
  return createGatehouseApp({ gatewayUrl, secret })(app, options);
};

export default gatehouseApp;
