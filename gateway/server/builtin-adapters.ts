import type { AdapterFactory } from '../enforcement/adapter-contract.ts';
import { httpAdapterFactory } from '../http-adapter/http-adapter.ts';
import { kubernetesAdapterFactory } from '../kubernetes/kubernetes-adapter.ts';
import { mysqlAdapterFactory } from '../mysql/mysql-factory.ts';
import type { Policy } from '../policy/policy-types.ts';
import { allowsOnlyReads } from '../policy/read-only-scope.ts';
import { effectiveLimits } from '../policy/blast-limits.ts';
import type { Identity } from '../policy/actions-and-decisions.ts';
import { postgresAdapterFactory } from '../postgres/postgres-factory.ts';
import { sshAdapterFactory } from '../ssh/ssh-factory.ts';

/**
 * The protocol adapters a gateway runs, one per connection type. A new protocol adds its factory
 * here; `startGateway` knows none of them by name.
 */
export function builtinAdapters(policy: Policy): AdapterFactory[] {
  const targetSession = {
    readOnly: (connection: string, identity: Identity) => allowsOnlyReads(policy, connection, identity),
    limits: (connection: string, identity: Identity) => effectiveLimits(policy.limits, connection, identity),
  };
  return [
    postgresAdapterFactory(policy.masking, targetSession),
    sshAdapterFactory,
    httpAdapterFactory(policy.masking),
    mysqlAdapterFactory(policy.masking),
    kubernetesAdapterFactory(policy.masking),
  ];
}
