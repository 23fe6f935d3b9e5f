import { fileURLToPath } from 'node:url';
import * as core from '@actions/core';
import * as toolCache from '@actions/tool-cache';
import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';
import { runConnect } from './connect-step.ts';

declare const GATEHOUSE_VERSION: string;

try {
  await runConnect({
    env: process.env,
    core,
    toolCache,
    actionVersion: typeof GATEHOUSE_VERSION === 'string' ? GATEHOUSE_VERSION : '0.0.0',
    shippedBundle: fileURLToPath(new URL('./gatehouse-connect.mjs', import.meta.url)),
    nodePath: process.execPath,
  });
} catch (error) {
  core.setFailed(
    error instanceof GatehouseError
      ? error.message
      : `Gatehouse connect failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
  );
}
