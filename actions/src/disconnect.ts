import * as core from '@actions/core';
import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';
import { runDisconnect } from './disconnect-step.ts';

try {
  await runDisconnect({ env: process.env, core });
} catch (error) {
  core.setFailed(
    error instanceof GatehouseError
      ? error.message
      : `Gatehouse disconnect failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
  );
}
