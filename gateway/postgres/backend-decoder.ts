import { createRequire } from 'node:module';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';

const require = createRequire(import.meta.url);
const { Parser } = require('pg-protocol/dist/parser.js') as typeof import('pg-protocol/dist/parser.js');

/**
 * Decodes one complete backend message with pg-protocol's parser. Used only for the messages
 * the gateway must read (authentication, RowDescription, errors); DataRows pass undecoded.
 */
export function decodeBackendMessage(frame: Buffer): BackendMessage {
  let decoded: BackendMessage | undefined;
  new Parser().parse(frame, (message) => {
    decoded = message;
  });
  if (!decoded) throw new Error('incomplete backend message');
  return decoded;
}
