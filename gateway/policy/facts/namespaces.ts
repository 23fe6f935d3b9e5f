import type { AnyFactNamespace } from './fact-namespace.ts';
import { HTTP_FACTS } from './http-namespace.ts';
import { K8S_FACTS } from './k8s-namespace.ts';
import { SQL_FACTS } from './sql-namespace.ts';
import { SSH_FACTS } from './ssh-namespace.ts';

/**
 * Every protocol's policy facts. A new protocol adds its namespace here (and its `when.<name>`
 * schema piece in `policies/policy.schema.json`, its type in `RuleWhen`); nothing else changes.
 */
export const FACT_NAMESPACES: readonly AnyFactNamespace[] = [SQL_FACTS, SSH_FACTS, HTTP_FACTS, K8S_FACTS];
