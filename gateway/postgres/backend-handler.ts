import type { RowDescriptionMessage } from 'pg-protocol/dist/messages.js';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { backendMessages } from './backend-messages.ts';
import { duringCopyIn } from './frontend-handler.ts';
import { decodeBackendMessage } from './backend-decoder.ts';
import type { Frame } from './frame-splitter.ts';
import type { OutputBatch } from './output-batch.ts';
import { BACKEND } from './protocol-codes.ts';
import type { RelayState } from './relay-state.ts';
import type { ErrorRewrite, Execution, Expectation } from './response-tracker.ts';
import type { WatchedSettings } from './server-settings.ts';
import type { BlastMeter } from './blast-meter.ts';
import type { ResultFilter, RowTransform, StatementGate, StatementHandle } from './statement-gate.ts';

export interface BackendContext {
  state: RelayState;
  gate: StatementGate;
  filter: ResultFilter | undefined;
  /** Settings the session relies on; a ParameterStatus that changes one ends the connection. */
  settings?: WatchedSettings;
  toClient: OutputBatch;
  sampleRows: number;
  flushToClient: () => void;
  /** Absent when no read or write bound applies: then rows are not compared to anything. */
  meter?: BlastMeter;
  /** Cancels the statement the target is running (a read past its bound). */
  cancelQuery?: () => void;
}

/**
 * Handles one target message on its way to the client: masks rows and message text, swaps
 * errors of substituted statements, and closes executions for the audit trail. DataRows of
 * connections without masking pass as they came.
 */
export function handleBackendFrame(ctx: BackendContext, frame: Frame): void | Promise<void> {
  const { state, toClient } = ctx;
  const current = state.tracker.current;
  switch (frame.type) {
    case BACKEND.dataRow: {
      const execution = executionOf(current);
      let bytes = frame.bytes;
      if (ctx.filter) {
        const transform = current?.kind === 'execute' ? current.entry?.transform : state.queryTransform;
        if (!transform)
          throw new GatehouseError(
            'pg.unmasked-row',
            'a row arrived whose columns the gateway could not classify for masking; the connection is closed',
          );
        const before = transform.maskedCount;
        bytes = transform.transform(bytes);
        if (execution) execution.maskedValues += transform.maskedCount - before;
      }
      if (execution) {
        execution.rows++;
        execution.bytes += bytes.length;
        if (ctx.meter?.over(execution)) return overBound(ctx, execution, () => forwardRow(ctx, execution, bytes));
      }
      forwardRow(ctx, execution, bytes);
      return;
    }
    case BACKEND.rowDescription:
      return describeRows(ctx, frame);
    case BACKEND.noData:
      if (current?.kind === 'describe') {
        state.tracker.shift();
        if (current.internal) return;
      }
      toClient.add(frame.bytes);
      return;
    case BACKEND.parameterDescription:
      if (!(current?.kind === 'describe' && current.internal)) toClient.add(frame.bytes);
      return;
    case BACKEND.commandComplete:
    case BACKEND.emptyQuery:
    case BACKEND.portalSuspended: {
      const execution = executionOf(current);
      if (execution?.cutOff) return cutOffCompleted(ctx, execution);
      if (execution && ctx.meter && frame.type === BACKEND.commandComplete) ctx.meter.completed(execution, frame.body);
      if (execution && frame.type === BACKEND.commandComplete) {
        execution.rows = Math.max(execution.rows, rowsOfTag(frame.body));
        const index = current?.kind === 'query' ? current.statementIndex : 0;
        const effects = execution.handle ? ctx.gate.statementCompleted?.(execution.handle, index) : undefined;
        if (effects) state.forget(effects);
      }
      finishTransforms(ctx);
      if (current?.kind === 'query') current.statementIndex++;
      else if (current?.kind === 'execute') finish(ctx, state.tracker.shift());
      toClient.add(frame.bytes);
      return;
    }
    case BACKEND.closeComplete:
      if (current?.kind === 'close') closed(ctx, current);
      state.tracker.shift();
      toClient.add(frame.bytes);
      return;
    case BACKEND.parseComplete:
    case BACKEND.bindComplete:
      state.tracker.shift();
      toClient.add(frame.bytes);
      return;
    case BACKEND.errorResponse:
      return onError(ctx, frame);
    case BACKEND.readyForQuery: {
      state.copyIn = false;
      while (
        state.tracker.current &&
        state.tracker.current.kind !== 'sync' &&
        state.tracker.current.kind !== 'query' &&
        state.tracker.current.kind !== 'function-call'
      ) {
        finish(ctx, state.tracker.shift());
      }
      finish(ctx, state.tracker.shift());
      state.transactionStatus = String.fromCharCode(frame.body[0]!) as 'I' | 'T' | 'E';
      ctx.meter?.ready(state.transactionStatus);
      ctx.gate.readyForQuery?.(state.transactionStatus);
      state.queryTransform = undefined;
      state.transactionEnded();
      toClient.add(frame.bytes);
      return;
    }
    case BACKEND.copyOutResponse:
      return startCopyOut(ctx, frame);
    case BACKEND.copyInResponse: {
      const copy = state.tracker.copyInStarted();
      if (copy.unexpected) throw duringCopyIn(`a ${copy.unexpected} message`);
      state.copyIn = !copy.ended;
      toClient.add(frame.bytes);
      return;
    }
    case BACKEND.copyData: {
      const execution = ctx.meter && executionOf(current);
      if (execution) {
        execution.rows++;
        execution.bytes += frame.bytes.length;
        if (ctx.meter!.over(execution)) return overBound(ctx, execution, () => forwardCopyData(ctx, frame));
      }
      return forwardCopyData(ctx, frame);
    }
    case BACKEND.copyDone: {
      if (executionOf(current)?.cutOff) {
        state.copyOut = undefined;
        return;
      }
      const tail = state.copyOut?.flush();
      if (tail && tail.length > 0) toClient.add(messageOf(BACKEND.copyData, tail));
      state.copyOut = undefined;
      toClient.add(frame.bytes);
      return;
    }
    case BACKEND.parameterStatus:
      checkSetting(ctx, frame.body);
      toClient.add(ctx.filter ? ctx.filter.maskMessage(frame.bytes) : frame.bytes);
      return;
    case BACKEND.noticeResponse:
    case BACKEND.notification:
      toClient.add(ctx.filter ? ctx.filter.maskMessage(frame.bytes, statementOf(current)) : frame.bytes);
      return;
    default:
      toClient.add(frame.bytes);
  }
}

/** A ParameterStatus (name, value) the session cannot continue with closes the connection before the client sees it. */
function checkSetting(ctx: BackendContext, body: Buffer): void {
  if (!ctx.settings) return;
  const nameEnd = body.indexOf(0);
  const valueEnd = body.indexOf(0, nameEnd + 1);
  if (nameEnd < 0 || valueEnd < 0)
    throw new GatehouseError('pg.malformed', 'a malformed ParameterStatus from the target');
  const problem = ctx.settings.changeProblem(
    body.toString('utf8', 0, nameEnd),
    body.toString('utf8', nameEnd + 1, valueEnd),
  );
  if (problem) throw new GatehouseError('pg.setting-changed', problem);
}

/** The statement whose reply is due: what an error or notice arriving now belongs to. */
function statementOf(expectation: RelayState['tracker']['current']): StatementHandle | undefined {
  switch (expectation?.kind) {
    case 'query':
    case 'parse':
    case 'bind':
    case 'describe':
      return expectation.handle;
    case 'execute':
      return expectation.entry?.handle;
  }
  return undefined;
}

function executionOf(expectation: RelayState['tracker']['current']): Execution | undefined {
  return expectation?.kind === 'query' || expectation?.kind === 'execute' ? expectation.execution : undefined;
}

function describeRows(ctx: BackendContext, frame: Frame): void | Promise<void> {
  const { state } = ctx;
  const current = state.tracker.current;
  const execution = executionOf(current);
  // Unmasked and unsampled, nobody reads the columns: the RowDescription passes undecoded.
  if (!ctx.filter && !(execution && ctx.sampleRows > 0)) return describedRows(ctx, frame, current, undefined);
  const fields = (decodeBackendMessage(frame.bytes) as RowDescriptionMessage).fields;
  if (execution) execution.columns = fields.map((f) => f.name);
  const apply = (transform: RowTransform | undefined) => describedRows(ctx, frame, current, transform);
  if (!ctx.filter) return apply(undefined);
  const handle = current?.kind === 'query' || current?.kind === 'describe' ? current.handle : undefined;
  const index = current?.kind === 'query' ? current.statementIndex : 0;
  const transform = ctx.filter.describe(handle, index, fields);
  if (!(transform instanceof Promise)) return apply(transform);
  ctx.flushToClient();
  return transform.then(apply);
}

/** A RowDescription's transform (if any) goes where its rows will look for it; an internal Describe's reply stays hidden. */
function describedRows(
  ctx: BackendContext,
  frame: Frame,
  current: RelayState['tracker']['current'],
  transform: RowTransform | undefined,
): void {
  const { state } = ctx;
  if (current?.kind === 'describe') {
    state.tracker.shift();
    const entry = current.entry;
    if (entry && transform) entry.transform = transform;
    if (current.target === 'S' && transform) {
      for (const portal of state.portals.values())
        if (portal.handle === entry?.handle && !portal.transform) portal.transform = transform;
    }
  } else {
    state.queryTransform = transform;
  }
  if (!(current?.kind === 'describe' && current.internal)) ctx.toClient.add(frame.bytes);
}

function startCopyOut(ctx: BackendContext, frame: Frame): void {
  const { state } = ctx;
  const current = state.tracker.current;
  if (ctx.filter) {
    const handle = current?.kind === 'query' ? current.handle : undefined;
    const index = current?.kind === 'query' ? current.statementIndex : 0;
    const format = frame.body[0] === 1 ? 'binary' : 'text';
    const copy = ctx.filter.copyOut(handle, index, format);
    if ('deny' in copy) throw new GatehouseError('pg.copy-unmaskable', copy.deny);
    state.copyOut = copy;
  }
  ctx.toClient.add(frame.bytes);
}

function onError(ctx: BackendContext, frame: Frame): void {
  const { state } = ctx;
  state.copyIn = false;
  const current = state.tracker.current;
  let rewrite: ErrorRewrite | undefined = current && 'rewrite' in current ? current.rewrite : undefined;
  const execution = executionOf(current);
  if (execution?.cutOff) rewrite = execution.cutOff;
  if (execution) ctx.meter?.completed(execution, undefined);
  if (execution) {
    execution.errorCode = rewrite?.code ?? errorCode(frame.body);
    execution.error = rewrite
      ? { message: rewrite.message }
      : ctx.filter?.auditedError?.(frame.bytes, statementOf(current));
  }
  finishTransforms(ctx);
  if (rewrite) ctx.toClient.add(backendMessages.errorResponse(rewrite));
  else ctx.toClient.add(ctx.filter ? ctx.filter.maskMessage(frame.bytes, statementOf(current)) : frame.bytes);
  if (current && current.kind !== 'query' && current.kind !== 'function-call') {
    for (const skipped of state.tracker.skipToSync()) finish(ctx, skipped);
  }
}

function forwardRow(ctx: BackendContext, execution: Execution | undefined, bytes: Buffer): void {
  if (execution && execution.sample.length < ctx.sampleRows) execution.sample.push(decodeTextRow(bytes));
  ctx.toClient.add(bytes);
}

function forwardCopyData(ctx: BackendContext, frame: Frame): void {
  const copyOut = ctx.state.copyOut;
  if (!copyOut) return ctx.toClient.add(frame.bytes);
  const body = frame.body;
  const masked = copyOut.transform(body);
  ctx.toClient.add(masked === body ? frame.bytes : messageOf(frame.type, masked));
}

/**
 * A result passed a read bound. Once cut off, the row is dropped. A bound held for review holds
 * the stream (the handler's promise pauses reading from the target) until the approval answers:
 * approved, the row and the rest go through; otherwise the statement is cut off.
 */
function overBound(ctx: BackendContext, execution: Execution, forward: () => void): void | Promise<void> {
  if (execution.cutOff) return;
  const more = ctx.meter!.askMore(execution);
  if (!more) return cutOff(ctx, execution);
  ctx.flushToClient();
  return more.then((approved) => {
    if (!approved) return cutOff(ctx, execution);
    execution.boundLifted = true;
    forward();
  });
}

/**
 * The rows of a statement passed a read bound: this row and every later one are dropped, and the
 * target is asked to cancel the statement (its error, or its tag if it finished first, becomes the
 * bound's error). Counted rows are capped at the bound for the audit trail.
 */
function cutOff(ctx: BackendContext, execution: Execution): void {
  if (execution.cutOff) return;
  execution.cutOff = ctx.meter!.cutOff(execution);
  ctx.flushToClient();
  ctx.cancelQuery?.();
}

/** The statement finished before the cancel arrived: its tag becomes the bound's error. */
function cutOffCompleted(ctx: BackendContext, execution: Execution): void {
  const { state } = ctx;
  const current = state.tracker.current;
  ctx.meter?.completed(execution, undefined);
  execution.errorCode = execution.cutOff!.code;
  execution.error = { message: execution.cutOff!.message };
  finishTransforms(ctx);
  ctx.toClient.add(backendMessages.errorResponse(execution.cutOff!));
  if (current?.kind === 'query') current.statementIndex++;
  else if (current?.kind === 'execute') finish(ctx, state.tracker.shift());
}

/**
 * The target closed a statement or portal. A name prepared again while the Close was in flight
 * keeps its new entry, and the gate keeps every definition it may hold (stricter, never looser).
 */
function closed(ctx: BackendContext, close: Extract<Expectation, { kind: 'close' }>): void {
  const map = close.target === 'S' ? ctx.state.statements : ctx.state.portals;
  if (map.get(close.name) !== close.entry) return;
  map.delete(close.name);
  if (close.target === 'S') ctx.gate.statementClosed(close.name);
}

function finishTransforms(ctx: BackendContext): void {
  ctx.state.queryTransform = undefined;
}

function finish(ctx: BackendContext, expectation: ReturnType<RelayState['tracker']['shift']>): void {
  const execution = executionOf(expectation);
  if (!execution) return;
  ctx.gate.executed({
    handle: execution.handle,
    rows: execution.rows,
    bytes: execution.bytes,
    durationMs: performance.now() - execution.startedAt,
    maskedValues: execution.maskedValues,
    errorCode: execution.errorCode,
    error: execution.error,
    sample: execution.sample,
    columns: execution.columns,
  });
}

/** Rows a command touched, from its tag ("UPDATE 3", "INSERT 0 1", "COPY 10"); 0 when the tag has none. */
function rowsOfTag(body: Buffer): number {
  const tag = body.toString('latin1', 0, body.length - 1);
  const count = Number(tag.slice(tag.lastIndexOf(' ') + 1));
  return Number.isSafeInteger(count) ? count : 0;
}

function errorCode(body: Buffer): string | undefined {
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const end = body.indexOf(0, offset + 1);
    if (body[offset] === 0x43) return body.toString('utf8', offset + 1, end);
    offset = end + 1;
  }
  return undefined;
}

function messageOf(type: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length + 5);
  out[0] = type;
  out.writeInt32BE(payload.length + 4, 1);
  payload.copy(out, 5);
  return out;
}

/** Text of a DataRow's values for the audit sample (binary values shown as hex). */
function decodeTextRow(bytes: Buffer): (string | null)[] {
  const count = bytes.readInt16BE(5);
  const values: (string | null)[] = [];
  let offset = 7;
  for (let i = 0; i < count; i++) {
    const length = bytes.readInt32BE(offset);
    offset += 4;
    if (length < 0) {
      values.push(null);
      continue;
    }
    values.push(bytes.toString('utf8', offset, offset + length));
    offset += length;
  }
  return values;
}
