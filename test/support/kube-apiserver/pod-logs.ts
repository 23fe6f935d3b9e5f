import type http from 'node:http';

type Follower = (text: string) => void;

/**
 * Container logs by `namespace/pod/container`: what `kubectl logs` reads, and `-f` follows.
 * Tests append lines (a token in a log line, say) to see what reaches the client.
 */
export class PodLogs {
  private readonly texts = new Map<string, string>();
  private readonly followers = new Map<string, Set<Follower>>();

  append(namespace: string, pod: string, container: string, text: string): void {
    const key = `${namespace}/${pod}/${container}`;
    this.texts.set(key, (this.texts.get(key) ?? '') + text);
    for (const follower of this.followers.get(key) ?? []) follower(text);
  }

  /** Drops a deleted pod's logs (a new pod of the same name starts empty). */
  forget(namespace: string, pod: string): void {
    for (const key of [...this.texts.keys()]) if (key.startsWith(`${namespace}/${pod}/`)) this.texts.delete(key);
  }

  read(namespace: string, pod: string, container: string): string {
    return this.texts.get(`${namespace}/${pod}/${container}`) ?? '';
  }

  follow(namespace: string, pod: string, container: string, follower: Follower): () => void {
    const key = `${namespace}/${pod}/${container}`;
    let set = this.followers.get(key);
    if (!set) this.followers.set(key, (set = new Set()));
    set.add(follower);
    return () => set.delete(follower);
  }
}

function tail(text: string, lines: number | undefined): string {
  if (lines === undefined) return text;
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  const kept = lines === 0 ? [] : all.slice(-lines);
  return kept.length ? `${kept.join('\n')}\n` : '';
}

/** Serves `GET .../pods/<name>/log` (text/plain; `follow=true` keeps the response open). */
export function serveLog(
  logs: PodLogs,
  res: http.ServerResponse,
  where: { namespace: string; pod: string; container: string },
  query: URLSearchParams,
  podGone: (listener: () => void) => () => void,
): void {
  const tailLines = query.has('tailLines') ? Number(query.get('tailLines')) : undefined;
  res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  res.write(tail(logs.read(where.namespace, where.pod, where.container), tailLines));
  if (query.get('follow') !== 'true') return void res.end();
  const stop = logs.follow(where.namespace, where.pod, where.container, (text) => res.write(text));
  const stopGone = podGone(() => res.end());
  res.on('close', () => {
    stop();
    stopGone();
  });
}
