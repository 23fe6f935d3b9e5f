/**
 * Errors the gateway shows to people. `code` is stable (tests and callers switch on it);
 * the message names the problem and the fix and never carries a secret or a stack trace.
 */
export class GatehouseError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatehouseError';
    this.code = code;
  }
}
