import type { StatementKind } from './statement-analysis.ts';

type Body = Record<string, unknown>;

/** Kind and command tag of a top-level parse node; a function when the tag depends on the node. */
export interface StatementClass {
  kind: StatementKind;
  command: string | ((body: Body) => string);
}

function objectName(objtype: unknown): string {
  const name = String(objtype ?? 'OBJECT_UNKNOWN').replace(/^OBJECT_/, '');
  const special: Record<string, string> = {
    MATVIEW: 'MATERIALIZED VIEW',
    FDW: 'FOREIGN DATA WRAPPER',
    FOREIGN_SERVER: 'SERVER',
    TABCONSTRAINT: 'CONSTRAINT',
    DOMCONSTRAINT: 'CONSTRAINT',
    LARGEOBJECT: 'LARGE OBJECT',
    STATISTIC_EXT: 'STATISTICS',
    TSCONFIGURATION: 'TEXT SEARCH CONFIGURATION',
    TSDICTIONARY: 'TEXT SEARCH DICTIONARY',
    TSPARSER: 'TEXT SEARCH PARSER',
    TSTEMPLATE: 'TEXT SEARCH TEMPLATE',
  };
  return special[name] ?? name.replace(/_/g, ' ');
}

const c = (kind: StatementKind, command: StatementClass['command']): StatementClass => ({ kind, command });

/**
 * Every PostgreSQL statement node the gateway classifies. A node type missing here is analysed
 * as `unknown` (fail closed): new server syntax is denied until someone classifies it.
 */
export const STATEMENT_CLASSES: Readonly<Record<string, StatementClass>> = {
  SelectStmt: c('read', 'SELECT'),
  VariableShowStmt: c('read', 'SHOW'),
  FetchStmt: c('read', (b) => (b.ismove ? 'MOVE' : 'FETCH')),
  ClosePortalStmt: c('utility', 'CLOSE'),
  InsertStmt: c('write', 'INSERT'),
  UpdateStmt: c('write', 'UPDATE'),
  DeleteStmt: c('write', 'DELETE'),
  MergeStmt: c('write', 'MERGE'),
  TruncateStmt: c('write', 'TRUNCATE'),
  LockStmt: c('write', 'LOCK TABLE'),
  RefreshMatViewStmt: c('write', 'REFRESH MATERIALIZED VIEW'),
  NotifyStmt: c('utility', 'NOTIFY'),
  ListenStmt: c('utility', 'LISTEN'),
  UnlistenStmt: c('utility', 'UNLISTEN'),
  DiscardStmt: c('utility', (b) => `DISCARD ${String(b.target ?? 'DISCARD_ALL').replace(/^DISCARD_/, '')}`),
  DeallocateStmt: c('utility', 'DEALLOCATE'),
  ConstraintsSetStmt: c('transaction', 'SET CONSTRAINTS'),
  CreateStmt: c('ddl', 'CREATE TABLE'),
  CreateForeignTableStmt: c('ddl', 'CREATE FOREIGN TABLE'),
  CreateSchemaStmt: c('ddl', 'CREATE SCHEMA'),
  AlterTableStmt: c('ddl', (b) => `ALTER ${objectName(b.objtype)}`),
  AlterCollationStmt: c('ddl', 'ALTER COLLATION'),
  AlterDomainStmt: c('ddl', 'ALTER DOMAIN'),
  CreateExtensionStmt: c('ddl', 'CREATE EXTENSION'),
  AlterExtensionStmt: c('ddl', 'ALTER EXTENSION'),
  AlterExtensionContentsStmt: c('ddl', 'ALTER EXTENSION'),
  ImportForeignSchemaStmt: c('ddl', 'IMPORT FOREIGN SCHEMA'),
  CreateTrigStmt: c('ddl', 'CREATE TRIGGER'),
  CreateSeqStmt: c('ddl', 'CREATE SEQUENCE'),
  AlterSeqStmt: c('ddl', 'ALTER SEQUENCE'),
  DefineStmt: c('ddl', (b) => `CREATE ${objectName(b.kind)}`),
  CreateDomainStmt: c('ddl', 'CREATE DOMAIN'),
  CreateOpClassStmt: c('ddl', 'CREATE OPERATOR CLASS'),
  CreateOpFamilyStmt: c('ddl', 'CREATE OPERATOR FAMILY'),
  AlterOpFamilyStmt: c('ddl', 'ALTER OPERATOR FAMILY'),
  DropStmt: c('ddl', (b) => `DROP ${objectName(b.removeType)}`),
  CommentStmt: c('ddl', 'COMMENT'),
  IndexStmt: c('ddl', 'CREATE INDEX'),
  CreateStatsStmt: c('ddl', 'CREATE STATISTICS'),
  AlterStatsStmt: c('ddl', 'ALTER STATISTICS'),
  CreateFunctionStmt: c('ddl', (b) => (b.is_procedure ? 'CREATE PROCEDURE' : 'CREATE FUNCTION')),
  AlterFunctionStmt: c('ddl', (b) => `ALTER ${objectName(b.objtype)}`),
  RenameStmt: c('ddl', (b) => `ALTER ${objectName(b.renameType)}`),
  AlterObjectDependsStmt: c('ddl', (b) => `ALTER ${objectName(b.objectType)}`),
  AlterObjectSchemaStmt: c('ddl', (b) => `ALTER ${objectName(b.objectType)}`),
  AlterOperatorStmt: c('ddl', 'ALTER OPERATOR'),
  AlterTypeStmt: c('ddl', 'ALTER TYPE'),
  RuleStmt: c('ddl', 'CREATE RULE'),
  CompositeTypeStmt: c('ddl', 'CREATE TYPE'),
  CreateEnumStmt: c('ddl', 'CREATE TYPE'),
  CreateRangeStmt: c('ddl', 'CREATE TYPE'),
  AlterEnumStmt: c('ddl', 'ALTER TYPE'),
  ViewStmt: c('ddl', 'CREATE VIEW'),
  CreateConversionStmt: c('ddl', 'CREATE CONVERSION'),
  CreateCastStmt: c('ddl', 'CREATE CAST'),
  CreateTransformStmt: c('ddl', 'CREATE TRANSFORM'),
  AlterTSDictionaryStmt: c('ddl', 'ALTER TEXT SEARCH DICTIONARY'),
  AlterTSConfigurationStmt: c('ddl', 'ALTER TEXT SEARCH CONFIGURATION'),
  GrantStmt: c('privilege', (b) => (b.is_grant ? 'GRANT' : 'REVOKE')),
  GrantRoleStmt: c('privilege', (b) => (b.is_grant ? 'GRANT' : 'REVOKE')),
  AlterDefaultPrivilegesStmt: c('privilege', 'ALTER DEFAULT PRIVILEGES'),
  CreateRoleStmt: c('privilege', (b) => `CREATE ${String(b.stmt_type ?? 'ROLESTMT_ROLE').replace(/^ROLESTMT_/, '')}`),
  AlterRoleStmt: c('privilege', 'ALTER ROLE'),
  AlterRoleSetStmt: c('privilege', 'ALTER ROLE'),
  DropRoleStmt: c('privilege', 'DROP ROLE'),
  AlterOwnerStmt: c('privilege', (b) => `ALTER ${objectName(b.objectType)} OWNER`),
  DropOwnedStmt: c('privilege', 'DROP OWNED'),
  ReassignOwnedStmt: c('privilege', 'REASSIGN OWNED'),
  SecLabelStmt: c('privilege', 'SECURITY LABEL'),
  CreatePolicyStmt: c('privilege', 'CREATE POLICY'),
  AlterPolicyStmt: c('privilege', 'ALTER POLICY'),
  CreateUserMappingStmt: c('privilege', 'CREATE USER MAPPING'),
  AlterUserMappingStmt: c('privilege', 'ALTER USER MAPPING'),
  DropUserMappingStmt: c('privilege', 'DROP USER MAPPING'),
  AlterSystemStmt: c('admin', 'ALTER SYSTEM'),
  CreatedbStmt: c('admin', 'CREATE DATABASE'),
  AlterDatabaseStmt: c('admin', 'ALTER DATABASE'),
  AlterDatabaseRefreshCollStmt: c('admin', 'ALTER DATABASE'),
  AlterDatabaseSetStmt: c('admin', 'ALTER DATABASE'),
  DropdbStmt: c('admin', 'DROP DATABASE'),
  CreateTableSpaceStmt: c('admin', 'CREATE TABLESPACE'),
  DropTableSpaceStmt: c('admin', 'DROP TABLESPACE'),
  AlterTableSpaceOptionsStmt: c('admin', 'ALTER TABLESPACE'),
  AlterTableMoveAllStmt: c('admin', 'ALTER TABLE'),
  CreateFdwStmt: c('admin', 'CREATE FOREIGN DATA WRAPPER'),
  AlterFdwStmt: c('admin', 'ALTER FOREIGN DATA WRAPPER'),
  CreateForeignServerStmt: c('admin', 'CREATE SERVER'),
  AlterForeignServerStmt: c('admin', 'ALTER SERVER'),
  CreateAmStmt: c('admin', 'CREATE ACCESS METHOD'),
  CreateEventTrigStmt: c('admin', 'CREATE EVENT TRIGGER'),
  AlterEventTrigStmt: c('admin', 'ALTER EVENT TRIGGER'),
  CreatePLangStmt: c('admin', 'CREATE LANGUAGE'),
  ClusterStmt: c('admin', 'CLUSTER'),
  VacuumStmt: c('admin', (b) => (b.is_vacuumcmd ? 'VACUUM' : 'ANALYZE')),
  ReindexStmt: c('admin', 'REINDEX'),
  CheckPointStmt: c('admin', 'CHECKPOINT'),
  LoadStmt: c('admin', 'LOAD'),
  CreatePublicationStmt: c('admin', 'CREATE PUBLICATION'),
  AlterPublicationStmt: c('admin', 'ALTER PUBLICATION'),
  CreateSubscriptionStmt: c('admin', 'CREATE SUBSCRIPTION'),
  AlterSubscriptionStmt: c('admin', 'ALTER SUBSCRIPTION'),
  DropSubscriptionStmt: c('admin', 'DROP SUBSCRIPTION'),
};

const TRANSACTION_COMMANDS: Readonly<Record<string, StatementClass>> = {
  TRANS_STMT_BEGIN: c('transaction', 'BEGIN'),
  TRANS_STMT_START: c('transaction', 'START TRANSACTION'),
  TRANS_STMT_COMMIT: c('transaction', 'COMMIT'),
  TRANS_STMT_ROLLBACK: c('transaction', 'ROLLBACK'),
  TRANS_STMT_SAVEPOINT: c('transaction', 'SAVEPOINT'),
  TRANS_STMT_RELEASE: c('transaction', 'RELEASE'),
  TRANS_STMT_ROLLBACK_TO: c('transaction', 'ROLLBACK TO SAVEPOINT'),
  TRANS_STMT_PREPARE: c('admin', 'PREPARE TRANSACTION'),
  TRANS_STMT_COMMIT_PREPARED: c('admin', 'COMMIT PREPARED'),
  TRANS_STMT_ROLLBACK_PREPARED: c('admin', 'ROLLBACK PREPARED'),
};

/**
 * Settings whose change is not "ordinary": identity switches, and settings that change how the
 * server lexes SQL (the gateway's parser assumes standard_conforming_strings on and UTF-8).
 */
export const SENSITIVE_SETTINGS: Readonly<Record<string, { kind: StatementKind; command: string }>> = {
  role: { kind: 'privilege', command: 'SET ROLE' },
  session_authorization: { kind: 'privilege', command: 'SET SESSION AUTHORIZATION' },
  standard_conforming_strings: { kind: 'admin', command: 'SET standard_conforming_strings' },
  client_encoding: { kind: 'admin', command: 'SET client_encoding' },
  backslash_quote: { kind: 'admin', command: 'SET backslash_quote' },
  session_replication_role: { kind: 'admin', command: 'SET session_replication_role' },
  allow_system_table_mods: { kind: 'admin', command: 'SET allow_system_table_mods' },
};

/**
 * Settings that decide what the server logs (log_statement, log_min_duration_statement, debug_*,
 * trace_*, pgaudit.*): turning them down hides a session from the server's own audit trail.
 */
export const LOGGING_SETTING = /^(log_|debug_|trace_|pgaudit\.)/;

/** The class of a SET/RESET of a setting that is not ordinary, or undefined. */
export function sensitiveSetting(name: string): { kind: StatementKind; command: string } | undefined {
  if (Object.hasOwn(SENSITIVE_SETTINGS, name)) return SENSITIVE_SETTINGS[name];
  if (LOGGING_SETTING.test(name)) return { kind: 'admin', command: `SET ${name}` };
  return undefined;
}

/** Classifies TransactionStmt and VariableSetStmt, whose kind depends on their fields. */
export function classifyVariable(type: string, body: Body): StatementClass | undefined {
  if (type === 'TransactionStmt') return TRANSACTION_COMMANDS[String(body.kind)];
  if (type !== 'VariableSetStmt') return undefined;
  const name = String(body.name ?? '').toLowerCase();
  const reset = body.kind === 'VAR_RESET' || body.kind === 'VAR_RESET_ALL';
  if (body.kind === 'VAR_SET_MULTI') {
    return name === 'transaction' || name === 'session characteristics'
      ? c('transaction', 'SET TRANSACTION')
      : c('utility', 'SET');
  }
  const sensitive = sensitiveSetting(name);
  if (sensitive) return c(sensitive.kind, reset ? sensitive.command.replace(/^SET/, 'RESET') : sensitive.command);
  return c('utility', reset ? 'RESET' : 'SET');
}
