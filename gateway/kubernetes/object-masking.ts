/** The content detectors, as the Kubernetes adapter applies them to strings. */
export type MaskText = (text: string) => { text: string; count: number };

/** What a Secret value reads as after masking: the marker, base64-encoded, so clients still decode it. */
export const SECRET_MARKER = 'gatehouse:masked';
export const SECRET_MARKER_BASE64 = Buffer.from(SECRET_MARKER, 'utf8').toString('base64');

/** The annotation `kubectl apply` stores the whole applied object in, Secret data included. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** How many values one document had masked, by why. */
export interface MaskCounts {
  secretValues: number;
  detected: number;
  lastApplied: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- masking rewrites arbitrary JSON in place
type Node = Record<string, any>;
const isNode = (value: unknown): value is Node => !!value && typeof value === 'object' && !Array.isArray(value);

class Masker {
  readonly counts: MaskCounts = { secretValues: 0, detected: 0, lastApplied: 0 };
  constructor(private readonly maskText: MaskText) {}

  text(value: string): string {
    const masked = this.maskText(value);
    this.counts.detected += masked.count;
    return masked.text;
  }

  /** Secret `data` (base64) and `stringData` (plain) become the marker in their own encoding. */
  secret(secret: Node): void {
    for (const [field, marker] of [
      ['data', SECRET_MARKER_BASE64],
      ['stringData', SECRET_MARKER],
    ] as const) {
      if (!isNode(secret[field])) continue;
      for (const key of Object.keys(secret[field])) {
        secret[field][key] = marker;
        this.counts.secretValues++;
      }
    }
  }

  /**
   * The last-applied annotation is a JSON copy of the object as applied: masked like the object
   * itself and written back, so `kubectl apply` still finds an original to diff against. One
   * that is not JSON is dropped.
   */
  annotations(annotations: Node): void {
    for (const [key, value] of Object.entries(annotations)) {
      if (typeof value !== 'string') continue;
      if (key !== LAST_APPLIED) {
        annotations[key] = this.text(value);
        continue;
      }
      this.counts.lastApplied++;
      try {
        const applied = JSON.parse(value);
        this.object(applied, undefined);
        annotations[key] = `${JSON.stringify(applied)}\n`;
      } catch {
        delete annotations[key];
      }
    }
  }

  /** Strings that commonly carry credentials: env values, container args and commands. */
  podStrings(node: unknown, depth: number): void {
    if (depth > 64) return;
    if (Array.isArray(node)) return node.forEach((item) => this.podStrings(item, depth + 1));
    if (!isNode(node)) return;
    for (const [key, child] of Object.entries(node)) {
      if (key === 'env' && Array.isArray(child)) {
        for (const entry of child)
          if (isNode(entry) && typeof entry.value === 'string') entry.value = this.text(entry.value);
      } else if ((key === 'args' || key === 'command') && Array.isArray(child)) {
        node[key] = child.map((arg) => (typeof arg === 'string' ? this.text(arg) : arg));
      } else if (key !== 'metadata') this.podStrings(child, depth + 1);
    }
  }

  object(object: unknown, kindHint: string | undefined): void {
    if (!isNode(object)) return;
    const kind = typeof object.kind === 'string' ? object.kind : kindHint;
    if (isNode(object.metadata) && isNode(object.metadata.annotations)) this.annotations(object.metadata.annotations);
    if (kind === 'Secret') return this.secret(object);
    if (kind === 'ConfigMap' && isNode(object.data)) {
      for (const [key, value] of Object.entries(object.data))
        if (typeof value === 'string') object.data[key] = this.text(value);
    }
    if (kind === 'Event' && typeof object.message === 'string') object.message = this.text(object.message);
    this.podStrings(object, 0);
  }

  table(table: Node): void {
    for (const row of Array.isArray(table.rows) ? table.rows : []) {
      if (!isNode(row)) continue;
      if (Array.isArray(row.cells))
        row.cells = row.cells.map((cell: unknown) => (typeof cell === 'string' ? this.text(cell) : cell));
      this.object(row.object, undefined);
    }
  }
}

function isTable(doc: Node): boolean {
  return doc.kind === 'Table' && typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('meta.k8s.io/');
}

/**
 * Masks one response or request document in place: a single object, a `*List`, a Table
 * (`kubectl get`), or a watch event's object. Secret values become the marker (valid base64,
 * so `kubectl describe` and `-o yaml` still work), the last-applied annotation is masked the same
 * way, and the content detectors run over env values, args, commands, annotation values,
 * ConfigMap data, event messages and Table cells. Returns what it changed.
 */
export function maskKubeDocument(document: unknown, maskText: MaskText): MaskCounts {
  const masker = new Masker(maskText);
  if (!isNode(document)) return masker.counts;
  if (isTable(document)) masker.table(document);
  else if (typeof document.kind === 'string' && document.kind.endsWith('List') && Array.isArray(document.items)) {
    const itemKind = document.kind.slice(0, -'List'.length);
    for (const item of document.items) masker.object(item, itemKind);
  } else masker.object(document, undefined);
  return masker.counts;
}

/** Masks a watch event (`{type, object}`) in place; the object may itself be a Table. */
export function maskWatchEvent(event: unknown, maskText: MaskText): MaskCounts {
  if (!isNode(event) || !isNode(event.object)) return { secretValues: 0, detected: 0, lastApplied: 0 };
  return maskKubeDocument(event.object, maskText);
}
