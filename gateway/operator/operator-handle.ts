import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatehouseConfig } from '../config/config-types.ts';
import { storeKind } from '../store/store-location.ts';

/**
 * How the CLI on the gateway host finds a running gateway and proves it is its operator: the
 * gateway's HTTP URL and the operator token, written by `serve` (mode 0600) so `gatehouse approvals`
 * and `gatehouse dev-token` work beside a running gateway whose embedded store is locked.
 */
export interface OperatorHandle {
  url: string;
  /** Absent when `operator.token` is configured: the CLI reads it from the same config. */
  token?: string;
  pid: number;
}

/** Where a gateway started from `config` writes its handle: its data directory, or beside gatehouse.yaml. */
export function operatorHandleFile(config: Pick<GatehouseConfig, 'store' | 'file'>): string {
  return storeKind(config.store) === 'directory'
    ? path.join(config.store, 'gatehouse.operator.json')
    : path.join(path.dirname(config.file), '.gatehouse-operator.json');
}

/** The operator token this gateway accepts: the configured one, or a fresh one for this process. */
export function operatorToken(config: Pick<GatehouseConfig, 'operator'>): { token: string; generated: boolean } {
  const configured = config.operator?.token;
  if (configured) return { token: configured, generated: false };
  return { token: `gho_op_${randomBytes(32).toString('base64url')}`, generated: true };
}

/** Writes the handle for the CLI; returns a function that removes it when the gateway stops. */
export function writeOperatorHandle(file: string, handle: OperatorHandle): () => void {
  writeFileSync(file, `${JSON.stringify(handle)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return () => {
    if (readOperatorHandle(file)?.pid === handle.pid) rmSync(file, { force: true });
  };
}

/** The handle a running gateway left, or null when there is none (or it is not readable JSON). */
export function readOperatorHandle(file: string): OperatorHandle | null {
  if (!existsSync(file)) return null;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<OperatorHandle>;
    if (typeof data.url !== 'string' || typeof data.pid !== 'number') return null;
    return { url: data.url, pid: data.pid, ...(typeof data.token === 'string' ? { token: data.token } : {}) };
  } catch {
    return null;
  }
}

/** Compares a presented operator token with the expected one in constant time. */
export function sameToken(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
