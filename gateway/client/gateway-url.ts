import { GatehouseError } from '../errors/gatehouse-error.ts';

/**
 * The gateway's base URL as `--gateway` gives it: http(s) only, and ending in `/` so that a
 * path prefix (`https://host/gatehouse`) survives resolving the control API's relative paths.
 */
export function parseGatewayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GatehouseError(
      'connect.gateway-url',
      `--gateway ${text} is not a URL; pass it like https://gatehouse.example.com`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new GatehouseError('connect.gateway-url', `--gateway must be an http(s) URL, not ${url.protocol}`);
  }
  return withTrailingSlash(url);
}

/** A copy of `url` whose path ends in `/`, so relative paths resolve below it rather than beside it. */
export function withTrailingSlash(url: URL): URL {
  const copy = new URL(url);
  if (!copy.pathname.endsWith('/')) copy.pathname = `${copy.pathname}/`;
  return copy;
}
