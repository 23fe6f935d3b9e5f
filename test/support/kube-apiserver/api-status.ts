/** A `meta/v1 Status` answer the stand-in sends, with its HTTP code. */
export interface ApiStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message: string }[];
  };
  code: number;
}

/** What an operation on the store answers: the object, or the failure to send. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: ApiStatus };

export function failure(
  code: number,
  reason: string,
  message: string,
  details?: ApiStatus['details'],
): { ok: false; status: ApiStatus } {
  return {
    ok: false,
    status: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    },
  };
}

function described(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(group: string, resource: string, name: string): { ok: false; status: ApiStatus } {
  return failure(404, 'NotFound', `${described(resource, group)} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function alreadyExists(group: string, resource: string, name: string): { ok: false; status: ApiStatus } {
  return failure(409, 'AlreadyExists', `${described(resource, group)} "${name}" already exists`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function conflict(group: string, resource: string, name: string): { ok: false; status: ApiStatus } {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${described(resource, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(group ? { group } : {}), kind: resource },
  );
}

export function invalid(kind: string, name: string, message: string): { ok: false; status: ApiStatus } {
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${message}`, {
    name,
    kind,
    causes: [{ reason: 'FieldValueInvalid', message }],
  });
}

export function badRequest(message: string): { ok: false; status: ApiStatus } {
  return failure(400, 'BadRequest', message);
}

export function success(details?: ApiStatus['details']): ApiStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    ...(details ? { details } : {}),
    code: 200,
  };
}
