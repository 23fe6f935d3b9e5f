import type { GitHubSpec } from './openapi-operations.ts';
import type { Handler } from './fake-github.ts';

/** A GitHub user as the fake knows it. */
export interface FakeUser {
  id: number;
  login: string;
}

/**
 * What the fake GitHub holds: one installation, users with repository roles, teams, pull
 * requests, workflow runs, and what the app created (check runs, comments). Answers start from
 * the examples in GitHub's own description, with these facts written over them.
 */
export interface GitHubModel {
  installationId: number;
  /** login → role (read, triage, write, maintain, admin); absent means not a collaborator. */
  roles: Map<string, string>;
  users: Map<string, FakeUser>;
  /** "org/slug" → member user ids, in listing order. */
  teams: Map<string, number[]>;
  pulls: Map<number, { number: number; author: FakeUser; headSha: string }>;
  runs: Map<number, { actor: FakeUser; triggeringActor: FakeUser }>;
  checkRuns: Map<number, Record<string, any>>;
  comments: { issueNumber: number; body: string }[];
  handlers: Map<string, Handler>;
  user(login: string, id: number): FakeUser;
}

const PERMISSION_OF_ROLE: Record<string, string> = {
  read: 'read',
  triage: 'read',
  write: 'write',
  maintain: 'write',
  admin: 'admin',
};

export function createGitHubModel(spec: GitHubSpec): GitHubModel {
  const example = (key: string, status: number): any => {
    const [method, template] = key.split(' ');
    const op = spec.operations.find((o) => o.method === method && o.template === template);
    return structuredClone(op?.responses[String(status)]?.example);
  };
  const userObject = (base: any, user: FakeUser): any => ({ ...base, id: user.id, login: user.login, type: 'User' });
  let nextId = 9000;

  const model: GitHubModel = {
    installationId: 4242,
    roles: new Map(),
    users: new Map(),
    teams: new Map(),
    pulls: new Map(),
    runs: new Map(),
    checkRuns: new Map(),
    comments: [],
    handlers: new Map(),
    user(login, id) {
      const u = { login, id };
      model.users.set(login, u);
      return u;
    },
  };
  const on = (key: string, handler: Handler): void => void model.handlers.set(key, handler);

  on('POST /app/installations/{installation_id}/access_tokens', ({ params }) => {
    if (Number(params.installation_id) !== model.installationId) return { status: 404, body: { message: 'Not Found' } };
    const body = example('POST /app/installations/{installation_id}/access_tokens', 201);
    return {
      status: 201,
      body: {
        ...body,
        token: `ghs_fake${params.installation_id}`,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
      },
    };
  });
  on('GET /repos/{owner}/{repo}/installation', () => {
    const body = example('GET /repos/{owner}/{repo}/installation', 200);
    return { status: 200, body: { ...body, id: model.installationId } };
  });
  on('GET /repos/{owner}/{repo}/pulls/{pull_number}', ({ params }) => {
    const pull = model.pulls.get(Number(params.pull_number));
    if (!pull) return { status: 404, body: { message: 'Not Found' } };
    const body = example('GET /repos/{owner}/{repo}/pulls/{pull_number}', 200);
    return {
      status: 200,
      body: {
        ...body,
        number: pull.number,
        state: 'open',
        requested_teams: [],
        user: userObject(body.user, pull.author),
        head: { ...body.head, sha: pull.headSha },
      },
    };
  });
  on('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', ({ params }) => {
    const [item] = example('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', 200);
    const pulls = [...model.pulls.values()].filter((p) => p.headSha === params.commit_sha);
    return {
      status: 200,
      body: pulls.map((p) => ({
        ...item,
        number: p.number,
        state: 'open',
        user: userObject(item.user, p.author),
        head: { ...item.head, sha: p.headSha },
      })),
    };
  });
  on('GET /repos/{owner}/{repo}/actions/runs/{run_id}', ({ params }) => {
    const run = model.runs.get(Number(params.run_id));
    if (!run) return { status: 404, body: { message: 'Not Found' } };
    const body = example('GET /repos/{owner}/{repo}/actions/runs/{run_id}', 200);
    return {
      status: 200,
      body: {
        ...body,
        id: Number(params.run_id),
        actor: userObject(body.actor, run.actor),
        triggering_actor: userObject(body.triggering_actor, run.triggeringActor),
      },
    };
  });
  on('POST /repos/{owner}/{repo}/check-runs', ({ body: request }) => {
    const id = ++nextId;
    const created = { ...request, id };
    model.checkRuns.set(id, created);
    const body = example('POST /repos/{owner}/{repo}/check-runs', 201);
    return {
      status: 201,
      body: {
        ...body,
        id,
        name: request.name,
        head_sha: request.head_sha,
        external_id: request.external_id ?? null,
        status: request.status ?? 'queued',
        conclusion: request.conclusion ?? null,
      },
    };
  });
  on('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', ({ params, query }) => {
    const {
      check_runs: [item],
    } = example('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', 200);
    const runs = [...model.checkRuns.values()].filter(
      (c) => c.head_sha === params.ref && (!query.check_name || c.name === query.check_name),
    );
    return {
      status: 200,
      body: {
        total_count: runs.length,
        check_runs: runs.map((c) => ({
          ...item,
          id: c.id,
          name: c.name,
          head_sha: c.head_sha,
          external_id: c.external_id ?? null,
          status: c.status ?? 'queued',
          conclusion: c.conclusion ?? null,
        })),
      },
    };
  });
  on('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', ({ params, body: request }) => {
    const id = Number(params.check_run_id);
    const existing = model.checkRuns.get(id);
    if (!existing)
      return { status: 200, body: { ...example('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', 200), id } };
    Object.assign(existing, request);
    const body = example('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', 200);
    return {
      status: 200,
      body: {
        ...body,
        id,
        name: existing.name,
        head_sha: existing.head_sha,
        status: existing.status,
        conclusion: existing.conclusion ?? null,
      },
    };
  });
  on('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', ({ params, body: request }) => {
    model.comments.push({ issueNumber: Number(params.issue_number), body: request.body });
    const body = example('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', 201);
    return { status: 201, body: { ...body, id: ++nextId, body: request.body } };
  });
  on('GET /repos/{owner}/{repo}/collaborators/{username}/permission', ({ params }) => {
    const role = model.roles.get(params.username!);
    const user = model.users.get(params.username!);
    if (!role || !user) return { status: 404, body: { message: 'Not Found' } };
    const body = example('GET /repos/{owner}/{repo}/collaborators/{username}/permission', 200);
    return {
      status: 200,
      body: {
        ...body,
        permission: PERMISSION_OF_ROLE[role],
        role_name: role,
        user: { ...body.user, id: user.id, login: user.login, role_name: role },
      },
    };
  });
  on('GET /orgs/{org}/teams/{team_slug}/members', ({ params, query, baseUrl }) => {
    const members = model.teams.get(`${params.org}/${params.team_slug}`) ?? [];
    const perPage = Number(query.per_page ?? 30);
    const page = Number(query.page ?? 1);
    const [item] = example('GET /orgs/{org}/teams/{team_slug}/members', 200);
    const slice = members.slice((page - 1) * perPage, page * perPage);
    const byId = new Map([...model.users.values()].map((u) => [u.id, u]));
    const body = slice.map((id) => userObject(item, byId.get(id) ?? { id, login: `user${id}` }));
    const pages = Math.ceil(members.length / perPage);
    const headers: Record<string, string> =
      page < pages
        ? {
            link: `<${baseUrl}/orgs/${params.org}/teams/${params.team_slug}/members?per_page=${perPage}&page=${page + 1}>; rel="next"`,
          }
        : {};
    return { status: 200, body, headers };
  });
  return model;
}
