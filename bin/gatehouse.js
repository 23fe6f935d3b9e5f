#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so there is no build step between a clone and `npm start`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../gateway/cli.ts');
process.exitCode = await main(process.argv.slice(2));
