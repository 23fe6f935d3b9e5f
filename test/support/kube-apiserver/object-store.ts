import { randomUUID } from 'node:crypto';
import { alreadyExists, conflict, notFound, type Outcome } from './api-status.ts';
import { apiVersionOf, type ResourceType } from './resource-catalog.ts';

/** A stored object: any JSON object with metadata, as the API server keeps it. */
export type KubeObject = { apiVersion: string; kind: string; metadata: ObjectMeta; [field: string]: any };

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [field: string]: unknown;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as watch streams replay it. */
export interface StoreEvent {
  type: EventType;
  resourceType: ResourceType;
  object: KubeObject;
  revision: number;
}

/** How much history a watch from an old resourceVersion can replay (older: 410 Gone). */
const HISTORY_LIMIT = 5_000;

function keyOf(type: ResourceType, namespace: string, name: string): string {
  return `${type.group}/${type.resource}/${type.namespaced ? namespace : ''}/${name}`;
}

function specOf(object: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = object;
  return JSON.stringify(rest);
}

/**
 * The stand-in's etcd: objects by group/resource/namespace/name with one global revision, so
 * every write gets a fresh resourceVersion and a watch can resume from any recent one.
 */
export class ObjectStore {
  private revision = 1000;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  /**
   * @param beforeWrite runs on every object just before it is stored with its final generation
   *   (what a controller would report at once, e.g. a workload's observedGeneration).
   */
  constructor(
    private readonly now: () => Date = () => new Date(),
    private readonly beforeWrite: (type: ResourceType, object: KubeObject) => void = () => {},
  ) {}

  get currentRevision(): string {
    return String(this.revision);
  }

  get(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const found = this.objects.get(keyOf(type, namespace, name));
    return found && structuredClone(found);
  }

  list(type: ResourceType, namespace: string | undefined): KubeObject[] {
    const prefix = `${type.group}/${type.resource}/`;
    const items: KubeObject[] = [];
    for (const [key, object] of this.objects) {
      if (!key.startsWith(prefix)) continue;
      if (type.namespaced && namespace && object.metadata.namespace !== namespace) continue;
      items.push(structuredClone(object));
    }
    return items.sort((a, b) =>
      `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
      ),
    );
  }

  create(type: ResourceType, namespace: string, object: KubeObject): Outcome<KubeObject> {
    const name = object.metadata.name;
    const key = keyOf(type, namespace, name);
    if (this.objects.has(key)) return alreadyExists(type.group, type.resource, name);
    const stored: KubeObject = structuredClone(object);
    stored.apiVersion = apiVersionOf(type);
    stored.kind = type.kind;
    stored.metadata = {
      ...stored.metadata,
      ...(type.namespaced ? { namespace } : {}),
      uid: randomUUID(),
      creationTimestamp: this.now()
        .toISOString()
        .replace(/\.\d+Z$/, 'Z'),
    };
    delete stored.metadata.deletionTimestamp;
    if (stored.spec !== undefined) stored.metadata.generation = 1;
    return { ok: true, value: this.write(key, type, stored, 'ADDED') };
  }

  /**
   * Replaces an object. With `expectedVersion` (the client's metadata.resourceVersion) a stale
   * write is a 409 Conflict, as optimistic concurrency on the real server.
   */
  update(type: ResourceType, namespace: string, object: KubeObject, expectedVersion?: string): Outcome<KubeObject> {
    const name = object.metadata.name;
    const key = keyOf(type, namespace, name);
    const current = this.objects.get(key);
    if (!current) return notFound(type.group, type.resource, name);
    if (expectedVersion && expectedVersion !== current.metadata.resourceVersion)
      return conflict(type.group, type.resource, name);
    const stored: KubeObject = structuredClone(object);
    stored.apiVersion = apiVersionOf(type);
    stored.kind = type.kind;
    const keep = ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const;
    for (const field of keep) {
      if (current.metadata[field] !== undefined) stored.metadata[field] = current.metadata[field] as never;
      else delete stored.metadata[field];
    }
    if (type.namespaced) stored.metadata.namespace = namespace;
    if (current.metadata.generation !== undefined && specOf(current) !== specOf(stored))
      stored.metadata.generation = current.metadata.generation + 1;
    if (current.metadata.deletionTimestamp && (stored.metadata.finalizers ?? []).length === 0) {
      this.remove(type, namespace, name);
      return { ok: true, value: stored };
    }
    return { ok: true, value: this.write(key, type, stored, 'MODIFIED') };
  }

  /** Starts a graceful deletion: sets deletionTimestamp (a MODIFIED event); `mutate` may change more (phase). */
  markDeleting(
    type: ResourceType,
    namespace: string,
    name: string,
    grace: number,
    mutate: (object: KubeObject) => void = () => {},
  ): Outcome<KubeObject> {
    const key = keyOf(type, namespace, name);
    const current = this.objects.get(key);
    if (!current) return notFound(type.group, type.resource, name);
    const next = structuredClone(current);
    next.metadata.deletionTimestamp = this.now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
    next.metadata.deletionGracePeriodSeconds = grace;
    mutate(next);
    return { ok: true, value: this.write(key, type, next, 'MODIFIED') };
  }

  /** Deletes at once (the object as it was is the DELETED event's). */
  remove(type: ResourceType, namespace: string, name: string): Outcome<KubeObject> {
    const key = keyOf(type, namespace, name);
    const current = this.objects.get(key);
    if (!current) return notFound(type.group, type.resource, name);
    this.objects.delete(key);
    const gone = structuredClone(current);
    gone.metadata.resourceVersion = String(++this.revision);
    this.publish({ type: 'DELETED', resourceType: type, object: gone, revision: this.revision });
    return { ok: true, value: gone };
  }

  /** Events after `revision` for a watch resuming there; null when that history is gone (410). */
  eventsSince(revision: number): StoreEvent[] | null {
    if (revision >= this.revision) return [];
    const first = this.history[0];
    if (first && revision < first.revision - 1) return null;
    return this.history.filter((event) => event.revision > revision);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private write(key: string, type: ResourceType, object: KubeObject, kind: EventType): KubeObject {
    this.beforeWrite(type, object);
    object.metadata.resourceVersion = String(++this.revision);
    this.objects.set(key, object);
    this.publish({ type: kind, resourceType: type, object: structuredClone(object), revision: this.revision });
    return structuredClone(object);
  }

  private publish(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    for (const listener of this.listeners) listener(event);
  }
}
