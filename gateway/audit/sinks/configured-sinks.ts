import type { GatehouseConfig } from '../../config/config-types.ts';
import type { AuditSink } from './audit-sink.ts';
import { createFileSink } from './file-sink.ts';
import { createWebhookSink } from './webhook-sink.ts';

/** The export sinks gatehouse.yaml's `audit:` asks for (`file`, `webhook`), ready for `createRecorder`. */
export function createConfiguredSinks(audit: GatehouseConfig['audit']): AuditSink[] {
  const sinks: AuditSink[] = [];
  if (audit.file) sinks.push(createFileSink({ path: audit.file }));
  if (audit.webhook) sinks.push(createWebhookSink({ url: audit.webhook.url, secret: audit.webhook.secret }));
  return sinks;
}
