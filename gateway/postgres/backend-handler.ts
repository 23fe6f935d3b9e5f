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
}

type BackendHandler = (ctx: BackendContext, frame: Frame, current: Expectation | undefined) => void | Promise<void>;

function onDataRow(ctx: BackendContext, frame: Frame, current: Expectation | undefined): void {
  const execution = executionOf(current);
  let bytes = frame.bytes;
  if (ctx.filter) {
    const transform = current?.kind === 'execute' ? current.entry?.transform : ctx.state.queryTransform;
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
    if (execution.sample.length < ctx.sampleRows) execution.sample.push(decodeTextRow(bytes));
  }
  ctx.toClient.add(bytes);
}

function onNoData({ state, toClient }: BackendContext, frame: Frame, current: Expectation | undefined): void {
  if (current?.kind === 'describe') {
    state.tracker.shift();
    if (current.internal) return;
  }
  toClient.add(frame.bytes);
}

function onParameterDescription({ toClient }: BackendContext, frame: Frame, current: Expectation | undefined): void {
  if (!(current?.kind === 'describe' && current.internal)) toClient.add(frame.bytes);
}

function onExecutionEnd(ctx: BackendContext, frame: Frame, current: Expectation | undefined): void {
  const { state } = ctx;
  const execution = executionOf(current);
  if (execution && frame.type === BACKEND.commandComplete) {
    execution.rows = Math.max(execution.rows, rowsOfTag(frame.body));
    const index = current?.kind === 'query' ? current.statementIndex : 0;
    const effects = execution.handle ? ctx.gate.statementCompleted?.(execution.handle, index) : undefined;
    if (effects) state.forget(effects);
  }
  finishTransforms(ctx);
  if (current?.kind === 'query') current.statementIndex++;
  else if (current?.kind === 'execute') finish(ctx, state.tracker.shift());
  ctx.toClient.add(frame.bytes);
}

function onCloseComplete(ctx: BackendContext, frame: Frame, current: Expectation | undefined): void {
  if (current?.kind === 'close') closed(ctx, current);
  ctx.state.tracker.shift();
  ctx.toClient.add(frame.bytes);
}

function onStepComplete({ state, toClient }: BackendContext, frame: Frame): void {
  state.tracker.shift();
  toClient.add(frame.bytes);
}

function onReadyForQuery(ctx: BackendContext, frame: Frame): void {
  const { state } = ctx;
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
  ctx.gate.readyForQuery?.(state.transactionStatus);
  state.queryTransform = undefined;
  state.transactionEnded();
  ctx.toClient.add(frame.bytes);
}

function onCopyInResponse({ state, toClient }: BackendContext, frame: Frame): void {
  const copy = state.tracker.copyInStarted();
  if (copy.unexpected) throw duringCopyIn(`a ${copy.unexpected} message`);
  state.copyIn = !copy.ended;
  toClient.add(frame.bytes);
}

function onCopyData({ state, toClient }: BackendContext, frame: Frame): void {
  if (!state.copyOut) return toClient.add(frame.bytes);
  const body = frame.body;
  const masked = state.copyOut.transform(body);
  toClient.add(masked === body ? frame.bytes : messageOf(frame.type, masked));
}

function onCopyDone({ state, toClient }: BackendContext, frame: Frame): void {
  const tail = state.copyOut?.flush();
  if (tail && tail.length > 0) toClient.add(messageOf(BACKEND.copyData, tail));
  state.copyOut = undefined;
  toClient.add(frame.bytes);
}

function onParameterStatus(ctx: BackendContext, frame: Frame): void {
  checkSetting(ctx, frame.body);
  ctx.toClient.add(ctx.filter ? ctx.filter.maskMessage(frame.bytes) : frame.bytes);
}

function onNotice(ctx: BackendContext, frame: Frame, current: Expectation | undefined): void {
  ctx.toClient.add(ctx.filter ? ctx.filter.maskMessage(frame.bytes, statementOf(current)) : frame.bytes);
}

/** One handler per target message type the relay follows; any other message passes as it came. */
const BACKEND_HANDLERS = new Map<number, BackendHandler>([
  [BACKEND.dataRow, onDataRow],
  [BACKEND.rowDescription, (ctx, frame) => describeRows(ctx, frame)],
  [BACKEND.noData, onNoData],
  [BACKEND.parameterDescription, onParameterDescription],
  [BACKEND.commandComplete, onExecutionEnd],
  [BACKEND.emptyQuery, onExecutionEnd],
  [BACKEND.portalSuspended, onExecutionEnd],
  [BACKEND.closeComplete, onCloseComplete],
  [BACKEND.parseComplete, onStepComplete],
  [BACKEND.bindComplete, onStepComplete],
  [BACKEND.errorResponse, (ctx, frame) => onError(ctx, frame)],
  [BACKEND.readyForQuery, onReadyForQuery],
  [BACKEND.copyOutResponse, (ctx, frame) => startCopyOut(ctx, frame)],
  [BACKEND.copyInResponse, onCopyInResponse],
  [BACKEND.copyData, onCopyData],
  [BACKEND.copyDone, onCopyDone],
  [BACKEND.parameterStatus, onParameterStatus],
  [BACKEND.noticeResponse, onNotice],
  [BACKEND.notification, onNotice],
]);

/**
 * Handles one target message on its way to the client: masks rows and message text, swaps
 * errors of substituted statements, and closes executions for the audit trail. DataRows of
 * connections without masking pass as they came.
 */
export function handleBackendFrame(ctx: BackendContext, frame: Frame): void | Promise<void> {
  const current = ctx.state.tracker.current;
  const handler = BACKEND_HANDLERS.get(frame.type);
  if (!handler) return ctx.toClient.add(frame.bytes);
  return handler(ctx, frame, current);
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
  const internal = current?.kind === 'describe' && current.internal;
  const fields = (decodeBackendMessage(frame.bytes) as RowDescriptionMessage).fields;
  const execution = executionOf(current);
  if (execution) execution.columns = fields.map((f) => f.name);
  const apply = (transform: RowTransform | undefined) => {
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
    if (!internal) ctx.toClient.add(frame.bytes);
  };
  if (!ctx.filter) return apply(undefined);
  const handle = current?.kind === 'query' || current?.kind === 'describe' ? current.handle : undefined;
  const index = current?.kind === 'query' ? current.statementIndex : 0;
  const transform = ctx.filter.describe(handle, index, fields);
  if (!(transform instanceof Promise)) return apply(transform);
  ctx.flushToClient();
  return transform.then(apply);
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
  const rewrite: ErrorRewrite | undefined = current && 'rewrite' in current ? current.rewrite : undefined;
  const execution = executionOf(current);
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
