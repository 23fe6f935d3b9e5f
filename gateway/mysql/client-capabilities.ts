import { CAPABILITY, MARIADB_CAPABILITY } from './codec/capabilities.ts';

/**
 * What the gateway offers its clients. Left out on purpose: LOCAL_FILES (the server could ask
 * the client for any file), COMPRESS and ZSTD (the relay reads every packet), QUERY_ATTRIBUTES
 * (values beside the SQL the analysis does not see), OPTIONAL_RESULTSET_METADATA and MariaDB's
 * CACHE_METADATA (rows without their column definitions blind masking), PROGRESS (progress
 * reports inside ERR packets), MULTI_FACTOR_AUTHENTICATION, and MariaDB's EXTENDED_TYPE_INFO.
 */
export const OFFERED_CAPABILITIES =
  (CAPABILITY.LONG_FLAG |
    CAPABILITY.FOUND_ROWS |
    CAPABILITY.CONNECT_WITH_DB |
    CAPABILITY.IGNORE_SPACE |
    CAPABILITY.PROTOCOL_41 |
    CAPABILITY.INTERACTIVE |
    CAPABILITY.IGNORE_SIGPIPE |
    CAPABILITY.TRANSACTIONS |
    CAPABILITY.SECURE_CONNECTION |
    CAPABILITY.MULTI_STATEMENTS |
    CAPABILITY.MULTI_RESULTS |
    CAPABILITY.PS_MULTI_RESULTS |
    CAPABILITY.PLUGIN_AUTH |
    CAPABILITY.CONNECT_ATTRS |
    CAPABILITY.PLUGIN_AUTH_LENENC_CLIENT_DATA |
    CAPABILITY.SESSION_TRACK |
    CAPABILITY.DEPRECATE_EOF) >>>
  0;

/** MariaDB extensions offered: array binding only. */
export const OFFERED_MARIADB_CAPABILITIES = MARIADB_CAPABILITY.STMT_BULK_OPERATIONS;
