import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGitHubSpec } from './openapi-operations.ts';
import { startFakeGitHub, type FakeGitHub } from './fake-github.ts';

let fake: FakeGitHub;
beforeAll(async () => {
  fake = await startFakeGitHub(loadGitHubSpec());
});
afterAll(async () => {
  await fake.close();
});

function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${fake.url}${path}`, {
    method,
    headers: { authorization: 'token ghs_test', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('fake GitHub', () => {
  it('answers a valid request with a response that matches GitHub’s description', async () => {
    const response = await call('POST', '/repos/acme/app/issues/7/comments', { body: 'hello' });
    expect(response.status).toBe(201);
    expect((await response.json()).body).toBe('hello');
    expect(fake.problems).toEqual([]);
  });

  it('flags an endpoint GitHub does not have', async () => {
    fake.problems.length = 0;
    expect((await call('POST', '/repos/acme/app/approvals', {})).status).toBe(404);
    expect(fake.problems).toEqual(['POST /repos/acme/app/approvals: GitHub has no such endpoint']);
  });

  it('flags a body field GitHub does not know and a value of the wrong type', async () => {
    fake.problems.length = 0;
    expect((await call('POST', '/repos/acme/app/check-runs', { name: 'x', head_sha: 'abc', buttons: [] })).status).toBe(
      422,
    );
    expect(
      (await call('POST', '/repos/acme/app/check-runs', { name: 'x', head_sha: 'abc', status: 'waiting' })).status,
    ).toBe(422);
    expect(fake.problems[0]).toContain("must NOT have additional properties 'buttons'");
    expect(fake.problems[1]).toContain('/status must be equal to one of the allowed values');
  });

  it('flags a path parameter of the wrong type and an unknown query parameter', async () => {
    fake.problems.length = 0;
    await call('GET', '/repos/acme/app/actions/runs/not-a-number');
    await call('GET', '/repos/acme/app/collaborators/alice/permission?verbose=1');
    expect(fake.problems[0]).toContain('path parameter run_id=not-a-number');
    expect(fake.problems[1]).toContain('unknown query parameter verbose');
  });

  it('flags a check run output longer than GitHub accepts', async () => {
    fake.problems.length = 0;
    await call('POST', '/repos/acme/app/check-runs', {
      name: 'x',
      head_sha: 'abc',
      output: { title: 't', summary: 's', text: 'x'.repeat(65_536) },
    });
    expect(fake.problems[0]).toContain('/output/text must NOT have more than 65535 characters');
  });
});
