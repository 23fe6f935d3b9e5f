import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The gateway's Prometheus metrics. One object per gateway instance (no global registry), so
 * tests and several gateways in one process each count their own.
 */
export interface GatewayMetrics {
  registry: Registry;
  connections: Gauge<'protocol'>;
  connectionsTotal: Counter<'protocol'>;
  statements: Counter<'protocol' | 'decision'>;
  bytes: Counter<'direction'>;
  errors: Counter<'code'>;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  return {
    registry,
    connections: new Gauge({
      name: 'gatehouse_connections',
      help: 'Open client connections',
      labelNames: ['protocol'],
      registers: [registry],
    }),
    connectionsTotal: new Counter({
      name: 'gatehouse_connections_total',
      help: 'Client connections accepted',
      labelNames: ['protocol'],
      registers: [registry],
    }),
    statements: new Counter({
      name: 'gatehouse_statements_total',
      help: 'Statements and commands decided',
      labelNames: ['protocol', 'decision'],
      registers: [registry],
    }),
    bytes: new Counter({
      name: 'gatehouse_bytes_total',
      help: 'Bytes relayed',
      labelNames: ['direction'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'gatehouse_errors_total',
      help: 'Errors by stable code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}
