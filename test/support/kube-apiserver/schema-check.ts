import { APIGroup } from '@kubernetes-models/apimachinery/apis/meta/v1/APIGroup';
import { APIGroupList } from '@kubernetes-models/apimachinery/apis/meta/v1/APIGroupList';
import { APIResourceList } from '@kubernetes-models/apimachinery/apis/meta/v1/APIResourceList';
import { APIVersions } from '@kubernetes-models/apimachinery/apis/meta/v1/APIVersions';
import { ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { Status } from '@kubernetes-models/apimachinery/apis/meta/v1/Status';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { DaemonSetList } from 'kubernetes-models/apps/v1/DaemonSetList';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { DeploymentList } from 'kubernetes-models/apps/v1/DeploymentList';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { ReplicaSetList } from 'kubernetes-models/apps/v1/ReplicaSetList';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { StatefulSetList } from 'kubernetes-models/apps/v1/StatefulSetList';
import { Scale } from 'kubernetes-models/autoscaling/v1/Scale';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { CronJobList } from 'kubernetes-models/batch/v1/CronJobList';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { JobList } from 'kubernetes-models/batch/v1/JobList';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ConfigMapList } from 'kubernetes-models/v1/ConfigMapList';
import { Event } from 'kubernetes-models/v1/Event';
import { EventList } from 'kubernetes-models/v1/EventList';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { NamespaceList } from 'kubernetes-models/v1/NamespaceList';
import { Pod } from 'kubernetes-models/v1/Pod';
import { PodList } from 'kubernetes-models/v1/PodList';
import { Secret } from 'kubernetes-models/v1/Secret';
import { SecretList } from 'kubernetes-models/v1/SecretList';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ServiceAccountList } from 'kubernetes-models/v1/ServiceAccountList';
import { ServiceList } from 'kubernetes-models/v1/ServiceList';

type Validating = new (data: any) => { validate(): void };

/**
 * The Kubernetes OpenAPI schemas (as `kubernetes-models` compiles them) for every kind the stand-in
 * stores or serves, keyed `apiVersion/kind`. Objects of a kind not listed here are a problem too:
 * the stand-in must not serve what it cannot check.
 */
const MODELS: Record<string, Validating> = {
  'v1/Status': Status,
  'v1/APIVersions': APIVersions,
  'v1/APIGroupList': APIGroupList,
  'v1/APIGroup': APIGroup,
  'v1/APIResourceList': APIResourceList,
  'v1/Pod': Pod,
  'v1/PodList': PodList,
  'v1/Secret': Secret,
  'v1/SecretList': SecretList,
  'v1/ConfigMap': ConfigMap,
  'v1/ConfigMapList': ConfigMapList,
  'v1/Namespace': Namespace,
  'v1/NamespaceList': NamespaceList,
  'v1/Event': Event,
  'v1/EventList': EventList,
  'v1/Service': Service,
  'v1/ServiceList': ServiceList,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ServiceAccountList': ServiceAccountList,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DeploymentList': DeploymentList,
  'apps/v1/ReplicaSet': ReplicaSet,
  'apps/v1/ReplicaSetList': ReplicaSetList,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/StatefulSetList': StatefulSetList,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/DaemonSetList': DaemonSetList,
  'batch/v1/Job': Job,
  'batch/v1/JobList': JobList,
  'batch/v1/CronJob': CronJob,
  'batch/v1/CronJobList': CronJobList,
  'autoscaling/v1/Scale': Scale,
};

/** Schema problems of one object ('' when it is valid). */
export function schemaProblem(object: unknown): string {
  if (!object || typeof object !== 'object') return 'not an object';
  const { apiVersion, kind } = object as { apiVersion?: unknown; kind?: unknown };
  if (apiVersion === 'meta.k8s.io/v1' && kind === 'Table') return tableProblem(object as Record<string, unknown>);
  if (kind === 'APIGroupDiscoveryList') return discoveryProblem(object as Record<string, unknown>);
  const Model = MODELS[`${String(apiVersion ?? 'v1')}/${String(kind)}`];
  if (!Model) return `no schema for apiVersion ${String(apiVersion)} kind ${String(kind)}`;
  try {
    new Model(object).validate();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * A `meta.k8s.io/v1` Table (no compiled schema ships for it): column definitions with the required
 * fields, rows of as many cells as columns, each row's object metadata valid ObjectMeta.
 */
function tableProblem(table: Record<string, unknown>): string {
  const columns = table.columnDefinitions as { name?: unknown; type?: unknown }[] | undefined;
  if (!Array.isArray(table.rows)) return 'Table without rows';
  if (columns && !columns.every((c) => typeof c.name === 'string' && typeof c.type === 'string'))
    return 'Table column without name or type';
  for (const row of table.rows as { cells?: unknown[]; object?: { metadata?: unknown } }[]) {
    if (!Array.isArray(row.cells)) return 'Table row without cells';
    if (columns && row.cells.length !== columns.length) return 'Table row cells do not match the columns';
    if (row.object?.metadata) {
      try {
        new ObjectMeta(row.object.metadata as never).validate();
      } catch (error) {
        return `Table row object: ${(error as Error).message}`;
      }
    }
  }
  return '';
}

const SCOPES = new Set(['Cluster', 'Namespaced']);

/**
 * An aggregated discovery document (apidiscovery.k8s.io/v2 or v2beta1, no compiled schema ships
 * for it): every resource with its name, scope, verbs and a complete responseKind.
 */
function discoveryProblem(list: Record<string, unknown>): string {
  if (!/^apidiscovery\.k8s\.io\/v2(beta1)?$/.test(String(list.apiVersion))) return 'unknown discovery apiVersion';
  if (!Array.isArray(list.items)) return 'APIGroupDiscoveryList without items';
  for (const group of list.items as { versions?: { version?: unknown; resources?: unknown[] }[] }[]) {
    for (const version of group.versions ?? []) {
      if (typeof version.version !== 'string') return 'discovery version without a name';
      for (const resource of (version.resources ?? []) as Record<string, any>[]) {
        const kind = resource.responseKind;
        if (typeof resource.resource !== 'string' || !SCOPES.has(resource.scope) || !Array.isArray(resource.verbs))
          return `discovery resource ${String(resource.resource)} lacks resource, scope or verbs`;
        if (
          !kind ||
          typeof kind.group !== 'string' ||
          typeof kind.version !== 'string' ||
          typeof kind.kind !== 'string'
        )
          return `discovery resource ${resource.resource} has an incomplete responseKind`;
      }
    }
  }
  return '';
}
