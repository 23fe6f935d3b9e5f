/** Message type bytes and startup codes of the PostgreSQL v3 protocol, by name. */
export const FRONTEND = {
  query: 0x51, // Q
  parse: 0x50, // P
  bind: 0x42, // B
  describe: 0x44, // D
  execute: 0x45, // E
  close: 0x43, // C
  sync: 0x53, // S
  flush: 0x48, // H
  terminate: 0x58, // X
  copyData: 0x64, // d
  copyDone: 0x63, // c
  copyFail: 0x66, // f
  functionCall: 0x46, // F
  password: 0x70, // p
} as const;

export const BACKEND = {
  authentication: 0x52, // R
  parameterStatus: 0x53, // S
  backendKeyData: 0x4b, // K
  readyForQuery: 0x5a, // Z
  rowDescription: 0x54, // T
  dataRow: 0x44, // D
  commandComplete: 0x43, // C
  emptyQuery: 0x49, // I
  errorResponse: 0x45, // E
  noticeResponse: 0x4e, // N
  notification: 0x41, // A
  parseComplete: 0x31, // 1
  bindComplete: 0x32, // 2
  closeComplete: 0x33, // 3
  noData: 0x6e, // n
  parameterDescription: 0x74, // t
  portalSuspended: 0x73, // s
  copyInResponse: 0x47, // G
  copyOutResponse: 0x48, // H
  copyBothResponse: 0x57, // W
  copyData: 0x64, // d
  copyDone: 0x63, // c
  negotiateProtocolVersion: 0x76, // v
} as const;

export const STARTUP_CODES = {
  protocol30: 196608,
  protocol32: 196610,
  sslRequest: 80877103,
  gssEncRequest: 80877104,
  cancelRequest: 80877102,
} as const;

/** SQLSTATE codes the gateway itself raises. */
export const SQLSTATE = {
  insufficientPrivilege: '42501',
  queryCanceled: '57014',
  invalidPassword: '28P01',
  invalidAuthorization: '28000',
  invalidCatalogName: '3D000',
  protocolViolation: '08P01',
  connectionFailure: '08006',
  cannotConnectNow: '57P03',
  adminShutdown: '57P01',
  featureNotSupported: '0A000',
  programLimitExceeded: '54000',
  tooManyConnections: '53300',
  syntaxError: '42601',
  ioError: '58030',
} as const;
