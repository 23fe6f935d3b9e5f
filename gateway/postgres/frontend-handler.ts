import { serialize } from 'pg-protocol';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Frame } from './frame-splitter.ts';
import {
  decodeBind,
  decodeExecute,
  decodeFunctionCall,
  decodeParse,
  decodeQuery,
  decodeTargetRef,
  frontendMessage,
} from './frontend-messages.ts';
import type { OutputBatch } from './output-batch.ts';
import { FRONTEND } from './protocol-codes.ts';
import type { RelayState } from './relay-state.ts';
import type { Execution } from './response-tracker.ts';
import type { GateControl, GateVerdict, ResultFilter, StatementGate, StatementHandle } from './statement-gate.ts';

/**
 * The SQL the gateway sends in place of a denied statement: the target's parser rejects it
 * before anything runs, so the target itself produces the error in the right place of the
 * reply stream and enters the aborted-transaction state exactly as for any failed statement.
 * The relay then swaps the target's error for the gateway's.
 */
const REJECTED_BY_PARSER = 'GATEHOUSE DENIED';
/** The statement name of a refused Bind's substitute (a client may prepare it too: see {@link failingBind}). */
const NEVER_PREPARED = '\u0001gatehouse-denied';

/**
 * The Bind sent in place of a refused one. The target rejects it whatever the statement name
 * holds: the name is looked up first, then two parameter format codes for one parameter are an
 * error before anything is planned or run.
 */
function failingBind(portal: string): Buffer {
  const names = Buffer.from(`${portal}\0${NEVER_PREPARED}\0`, 'utf8');
  const counts = Buffer.alloc(2 + 2 * 2 + 2 + 4 + 2);
  let at = counts.writeInt16BE(2, 0);
  at = counts.writeInt16BE(0, at);
  at = counts.writeInt16BE(0, at);
  at = counts.writeInt16BE(1, at);
  at = counts.writeInt32BE(-1, at);
  counts.writeInt16BE(0, at);
  return frontendMessage(FRONTEND.bind, Buffer.concat([names, counts]));
}

export interface FrontendContext {
  state: RelayState;
  gate: StatementGate;
  filter: ResultFilter | undefined;
  toTarget: OutputBatch;
  control: () => GateControl;
  flushToTarget: () => void;
  end: (reason: string) => void;
}

function newExecution(handle: StatementHandle | undefined): Execution {
  return { handle, startedAt: performance.now(), rows: 0, bytes: 0, maskedValues: 0, sample: [], columns: [] };
}

type FrameHandler = (ctx: FrontendContext, frame: Frame) => void | Promise<void>;

function onQuery(ctx: FrontendContext, frame: Frame): void | Promise<void> {
  const { state, toTarget } = ctx;
  const sql = decodeQuery(frame.body);
  return decided(ctx, ctx.gate.check({ kind: 'query', sql }, ctx.control()), (verdict) => {
    // A simple Query destroys the unnamed prepared statement (and, at its end, the unnamed portal).
    state.statements.delete('');
    if (verdict.forward) {
      state.tracker.expect({
        kind: 'query',
        handle: verdict.handle,
        statementIndex: 0,
        execution: newExecution(verdict.handle),
      });
      toTarget.add(frame.bytes);
    } else {
      state.tracker.expect({
        kind: 'query',
        rewrite: verdict,
        statementIndex: 0,
        execution: newExecution(undefined),
      });
      toTarget.add(serialize.query(REJECTED_BY_PARSER));
    }
  });
}

function onParse(ctx: FrontendContext, frame: Frame): void | Promise<void> {
  const { state, toTarget } = ctx;
  const parse = decodeParse(frame.body);
  return decided(
    ctx,
    ctx.gate.check({ kind: 'parse', statementName: parse.name, sql: parse.sql }, ctx.control()),
    (verdict) => {
      if (verdict.forward) {
        state.statements.set(parse.name, { handle: verdict.handle });
        state.tracker.expect({ kind: 'parse', handle: verdict.handle });
        toTarget.add(frame.bytes);
      } else {
        state.statements.delete(parse.name);
        state.tracker.expect({ kind: 'parse', rewrite: verdict });
        toTarget.add(serialize.parse({ name: parse.name, text: REJECTED_BY_PARSER, types: [] }));
      }
    },
  );
}

function onBind(ctx: FrontendContext, frame: Frame): void | Promise<void> {
  const { state, toTarget } = ctx;
  const bind = decodeBind(frame.body);
  const statement = ctx.state.statements.get(bind.statement);
  const request = {
    kind: 'bind',
    statementName: bind.statement,
    portal: bind.portal,
    values: bind.values,
    handle: statement?.handle,
  } as const;
  return decided(ctx, ctx.gate.check(request, ctx.control()), (verdict) => {
    if (verdict.forward) {
      // The gate's handle says what the name may hold on the server (several candidates when a re-Parse or PREPARE may have failed).
      state.portals.set(bind.portal, {
        handle: verdict.handle ?? statement?.handle,
        resultFormats: bind.resultFormats,
      });
      state.tracker.expect({ kind: 'bind', handle: verdict.handle ?? statement?.handle });
      toTarget.add(frame.bytes);
    } else {
      state.portals.delete(bind.portal);
      state.tracker.expect({ kind: 'bind', rewrite: verdict });
      toTarget.add(failingBind(bind.portal));
    }
  });
}

function onDescribe({ state, toTarget }: FrontendContext, frame: Frame): void {
  const ref = decodeTargetRef(frame.body);
  const entry = (ref.kind === 'S' ? state.statements : state.portals).get(ref.name);
  state.tracker.expect({
    kind: 'describe',
    target: ref.kind,
    name: ref.name,
    entry,
    handle: entry?.handle,
    internal: false,
  });
  toTarget.add(frame.bytes);
}

function onExecute(ctx: FrontendContext, frame: Frame): void {
  const { state, toTarget } = ctx;
  const { portal } = decodeExecute(frame.body);
  let entry = state.portals.get(portal);
  if (!entry && ctx.filter) {
    // A portal the relay did not open (a SQL cursor): its rows are masked as of unknown origin.
    entry = { handle: undefined };
    state.portals.set(portal, entry);
  }
  if (ctx.filter && !entry?.transform) {
    // Masking needs this portal's RowDescription; ask for it without showing the reply.
    state.tracker.expect({
      kind: 'describe',
      target: 'P',
      name: portal,
      entry,
      handle: entry?.handle,
      internal: true,
    });
    toTarget.add(serialize.describe({ type: 'P', name: portal }));
  }
  state.tracker.expect({ kind: 'execute', portal, entry, execution: newExecution(entry?.handle) });
  toTarget.add(frame.bytes);
}

function onClose({ state, toTarget }: FrontendContext, frame: Frame): void {
  // Forgotten at CloseComplete: after an earlier error the target skips the Close and keeps the statement.
  const ref = decodeTargetRef(frame.body);
  const entry = (ref.kind === 'S' ? state.statements : state.portals).get(ref.name);
  state.tracker.expect({ kind: 'close', target: ref.kind, name: ref.name, entry });
  toTarget.add(frame.bytes);
}

function onSync({ state, toTarget }: FrontendContext, frame: Frame): void {
  if (!state.copyIn) state.tracker.expect({ kind: 'sync' });
  toTarget.add(frame.bytes);
}

function onFunctionCall(ctx: FrontendContext, frame: Frame): void | Promise<void> {
  const { state, toTarget } = ctx;
  const { functionOid } = decodeFunctionCall(frame.body);
  return decided(ctx, ctx.gate.check({ kind: 'function-call', functionOid }, ctx.control()), (verdict) => {
    if (verdict.forward) {
      state.tracker.expect({ kind: 'function-call' });
      toTarget.add(frame.bytes);
    } else {
      state.tracker.expect({ kind: 'function-call', rewrite: verdict });
      toTarget.add(serialize.query(REJECTED_BY_PARSER));
    }
  });
}

function forward({ toTarget }: FrontendContext, frame: Frame): void {
  toTarget.add(frame.bytes);
}

function onCopyEnd({ state, toTarget }: FrontendContext, frame: Frame): void {
  // Before the target's CopyInResponse was seen, leave a marker so its arrival can tell the COPY already ended.
  if (state.copyIn) state.copyIn = false;
  else state.tracker.expect({ kind: 'copy-end' });
  toTarget.add(frame.bytes);
}

function onTerminate(ctx: FrontendContext, frame: Frame): void {
  ctx.toTarget.add(frame.bytes);
  ctx.flushToTarget();
  ctx.end('client-closed');
}

/** One handler per client message type; a type not listed closes the connection. */
const FRONTEND_HANDLERS = new Map<number, FrameHandler>([
  [FRONTEND.query, onQuery],
  [FRONTEND.parse, onParse],
  [FRONTEND.bind, onBind],
  [FRONTEND.describe, onDescribe],
  [FRONTEND.execute, onExecute],
  [FRONTEND.close, onClose],
  [FRONTEND.sync, onSync],
  [FRONTEND.functionCall, onFunctionCall],
  [FRONTEND.flush, forward],
  [FRONTEND.copyData, forward],
  [FRONTEND.copyDone, onCopyEnd],
  [FRONTEND.copyFail, onCopyEnd],
  [FRONTEND.terminate, onTerminate],
]);

/** Handles one client message: asks the gate where needed, then forwards it (or its substitute). */
export function handleFrontendFrame(ctx: FrontendContext, frame: Frame): void | Promise<void> {
  if (ctx.state.copyIn && !COPY_IN_MESSAGES.has(frame.type))
    throw duringCopyIn(`message '${String.fromCharCode(frame.type)}'`);
  const handler = FRONTEND_HANDLERS.get(frame.type);
  if (!handler) {
    throw new GatehouseError(
      'pg.unknown-message',
      `unknown message type '${String.fromCharCode(frame.type)}' (0x${frame.type.toString(16)}); the connection is closed`,
    );
  }
  return handler(ctx, frame);
}

/** What a client may send while the target reads COPY FROM STDIN (it ignores Sync and Flush, and swallows anything else without a reply). */
const COPY_IN_MESSAGES = new Set<number>([
  FRONTEND.copyData,
  FRONTEND.copyDone,
  FRONTEND.copyFail,
  FRONTEND.flush,
  FRONTEND.sync,
  FRONTEND.terminate,
]);

/** A message sent in the middle of COPY FROM STDIN: the relay could no longer tell which reply is whose. */
export function duringCopyIn(what: string): GatehouseError {
  return new GatehouseError(
    'pg.copy-in-protocol',
    `${what} arrived during COPY FROM STDIN; send the data, then CopyDone or CopyFail, before anything else; the connection is closed`,
  );
}

/** Applies `then` right away for a synchronous verdict; flushes and waits for an async one. */
function decided(
  ctx: FrontendContext,
  verdict: GateVerdict | Promise<GateVerdict>,
  then: (v: GateVerdict) => void,
): void | Promise<void> {
  if (!(verdict instanceof Promise)) return then(verdict);
  ctx.flushToTarget();
  return verdict.then((v) => {
    // An earlier COPY FROM STDIN may have started while the gate decided.
    if (ctx.state.copyIn) throw duringCopyIn('a statement');
    then(v);
  });
}
