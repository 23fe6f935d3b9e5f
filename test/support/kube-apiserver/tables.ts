import type { KubeObject } from './object-store.ts';
import type { ResourceType } from './resource-catalog.ts';

/** What `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` gets instead of the objects. */
export const TABLE_MEDIA_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

export function wantsTable(accept: string | undefined): boolean {
  const first = (accept ?? '').split(',')[0]!.replace(/\s+/g, '');
  return first.includes('as=Table') && first.includes('g=meta.k8s.io');
}

type Column = { name: string; type: string; format: string; description: string; priority: number };
type Cell = string | number;

const column = (name: string, type = 'string', priority = 0, format = ''): Column => ({
  name,
  type,
  format,
  description: `${name} column`,
  priority,
});

const NAME = column('Name', 'string', 0, 'name');
const AGE = column('Age', 'string', 0, '');

/** `5s`, `3m`, `2h`, `4d`: the server-side age of a timestamp. */
export function age(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

function podCells(pod: KubeObject): Cell[] {
  const statuses: { ready?: boolean; restartCount?: number }[] = pod.status?.containerStatuses ?? [];
  const ready = statuses.filter((s) => s.ready).length;
  const restarts = statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
  const phase = pod.metadata.deletionTimestamp ? 'Terminating' : (pod.status?.phase ?? 'Pending');
  const total = pod.spec?.containers?.length ?? 0;
  return [`${ready}/${total}`, phase, restarts];
}

function deploymentCells(d: KubeObject): Cell[] {
  const s = d.status ?? {};
  return [`${s.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`, s.updatedReplicas ?? 0, s.availableReplicas ?? 0];
}

interface Layout {
  columns: Column[];
  /** Cells between Name and Age. */
  cells(object: KubeObject): Cell[];
}

const LAYOUTS: Record<string, Layout> = {
  pods: {
    columns: [column('Ready'), column('Status'), column('Restarts', 'string')],
    cells: (pod) => {
      const [ready, phase, restarts] = podCells(pod);
      return [ready!, phase!, String(restarts)];
    },
  },
  deployments: {
    columns: [column('Ready'), column('Up-to-date', 'integer'), column('Available', 'integer')],
    cells: deploymentCells,
  },
  secrets: {
    columns: [column('Type'), column('Data', 'integer')],
    cells: (s) => [s.type ?? 'Opaque', Object.keys(s.data ?? {}).length],
  },
  configmaps: {
    columns: [column('Data', 'integer')],
    cells: (c) => [Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length],
  },
  namespaces: { columns: [column('Status')], cells: (n) => [n.status?.phase ?? 'Active'] },
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(object: KubeObject, include: IncludeObject): Record<string, unknown> | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}

/**
 * The Table the API server's table convertor answers for these objects: per-kind columns for
 * the kinds kubectl users look at most, `Name` + `Age` for the rest.
 */
export function toTable(
  type: ResourceType,
  objects: readonly KubeObject[],
  options: { include: IncludeObject; resourceVersion: string; now: Date; noHeaders?: boolean },
): Record<string, unknown> {
  const layout = LAYOUTS[type.resource] ?? { columns: [], cells: () => [] };
  const rows = objects.map((object) => {
    const row: Record<string, unknown> = {
      cells: [object.metadata.name, ...layout.cells(object), age(object.metadata.creationTimestamp, options.now)],
    };
    const embedded = rowObject(object, options.include);
    if (embedded) row.object = embedded;
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: options.resourceVersion },
    ...(options.noHeaders ? {} : { columnDefinitions: [NAME, ...layout.columns, AGE] }),
    rows,
  };
}
