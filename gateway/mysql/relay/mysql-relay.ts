import type { Duplex } from 'node:stream';
import { GatehouseError } from '../../errors/gatehouse-error.ts';
import { SerialQueue } from '../../postgres/serial-queue.ts';
import { decodeColumnDefinition } from '../codec/column-definition.ts';
import { COMMAND, encodeStringCommand } from '../codec/commands.ts';
import { decodeBinaryRow, decodeTextRow, encodeBinaryRow, encodeTextRow } from '../codec/result-rows.ts';
import { encodePacket, PacketFramer, type Packet } from '../codec/packet-framer.ts';
import { decodeErr, encodeErr } from '../codec/responses.ts';
import type { MysqlGate, MysqlRequest, MysqlResultFilter, MysqlRowTransform } from '../mysql-gate.ts';
import { analyzeMysql, type MysqlAnalysisCache } from '../sql/analyze-mysql.ts';
import type { UpstreamConnection } from '../upstream-connection.ts';
import { planCommand, type CommandPlan } from './command-handler.ts';
import { planKill } from './kill-mapping.ts';
import type { MysqlStatementAnalysis } from '../sql/mysql-analysis.ts';
import { OutgoingBatch } from './outgoing-batch.ts';
import { PreparedRegistry } from './prepared-registry.ts';
import { ResponseFramer, type ResponseEvent } from './response-framer.ts';
import type { SessionMode } from './session-mode.ts';

export interface MysqlRelayOptions {
  clientCapabilities: number;
  mode: SessionMode;
  gate: MysqlGate;
  filter?: MysqlResultFilter;
  cache?: MysqlAnalysisCache;
  maxPacketBytes: number;
  maxStatementBytes: number;
  /** SQL the gateway runs (hidden) after COM_RESET_CONNECTION, to restore its session tracking. */
  resetSql: string;
  onClosed?: (reason: string) => void;
  /** The server thread this client's session may kill for a gateway connection id (its Ctrl-C). */
  killTarget?: (gatewayId: number) => number | undefined;
  log?: (message: string) => void;
}

/** The reply in flight: how it is re-framed, where its packets go, and what it counts. */
interface Reply {
  framer: ResponseFramer;
  request?: MysqlRequest;
  nextClientSeq: number;
  hidden: boolean;
  done: () => void;
  binary: boolean;
  transform?: MysqlRowTransform;
  /** Column types of the result set being streamed (for decoding its rows when masking). */
  types: number[];
  resultIndex: number;
  started: number;
  rows: number;
  bytes: number;
  affected: number;
  errorCode?: number;
}

/**
 * Relays one authenticated client to its upstream, one command at a time: every command is
 * analysed and decided before it is forwarded, and the next one is read only when its reply is
 * complete (so the lexer mode the server reported applies to it). Replies are re-framed per the
 * client's capabilities and their rows pass the masking filter.
 */
export class MysqlRelay {
  private readonly prepared = new PreparedRegistry();
  private readonly queue: SerialQueue<Packet>;
  private reply: Reply | undefined;
  private hold: AbortController | undefined;
  private closed = false;
  private readonly outgoing = new OutgoingBatch((bytes) => this.client.write(bytes));

  constructor(
    private readonly client: Duplex,
    private readonly upstream: UpstreamConnection,
    private readonly options: MysqlRelayOptions,
  ) {
    this.queue = new SerialQueue(
      (packet) => this.command(packet),
      (error) => this.fail(error),
      () => this.client.resume(),
    );
  }

  start(clientLeftover: Buffer): void {
    const fromClient = new PacketFramer(this.options.maxPacketBytes);
    const fromServer = new PacketFramer(1 << 30);
    this.client.on('data', (chunk: Buffer) =>
      this.feed(
        () => this.queue.push(fromClient.push(chunk)),
        () => this.queue.busy && this.client.pause(),
      ),
    );
    // Everything one chunk of the reply produces goes out framed in one buffer, in one write.
    this.upstream.socket.on('data', (chunk: Buffer) => {
      this.feed(() => {
        for (const packet of fromServer.push(chunk)) this.fromServer(packet);
        if (!this.outgoing.flush()) this.upstream.socket.pause();
      });
    });
    this.client.on('drain', () => this.upstream.socket.resume());
    this.client.on('close', () => this.close('client-closed'));
    this.client.on('error', () => this.close('client-error'));
    this.upstream.socket.on('close', () => this.close('target-closed'));
    this.upstream.socket.on('error', () => this.close('target-error'));
    if (this.upstream.leftover.length > 0) this.upstream.socket.emit('data', this.upstream.leftover);
    if (clientLeftover.length > 0) this.client.emit('data', clientLeftover);
    this.upstream.socket.resume();
    this.client.resume();
  }

  /** Ends the connection from the gateway's side (session expired or revoked) with an ERR. */
  terminate(message: string): void {
    if (this.closed) return;
    this.hold?.abort(new GatehouseError('mysql.terminated', message));
    this.outgoing.flush();
    this.client.write(
      encodePacket(this.reply?.nextClientSeq ?? 0, encodeErr({ code: 1927, sqlState: '70100', message })).bytes,
    );
    this.close('revoked');
  }

  private feed(step: () => void, after?: () => void): void {
    if (this.closed) return;
    try {
      step();
      after?.();
    } catch (error) {
      this.fail(error);
    }
  }

  private command(packet: Packet): void | Promise<void> {
    const analyze = (sql: string) =>
      analyzeMysql(sql, this.options.mode.mode, {
        maxBytes: this.options.maxStatementBytes,
        cache: this.options.cache,
      });
    const plan = planCommand(packet, analyze, this.prepared);
    const seq = (packet.lastSequenceId + 1) & 0xff;
    if (plan.kind === 'quit') return this.close('client-quit');
    if (plan.kind === 'refuse') return this.refuse(seq, plan);
    if (!plan.request) return this.forward(packet.payload, plan, seq);
    const only = plan.request.statements.length === 1 ? plan.request.statements[0] : undefined;
    const killed = plan.request.kind === 'query' && only?.command === 'KILL' ? this.kill(only) : undefined;
    if (killed && 'sql' in killed) return this.forward(encodeStringCommand(COMMAND.QUERY, killed.sql), plan, seq);
    if (killed) return this.refuse(seq, { kind: 'refuse', ...killed });
    this.hold = new AbortController();
    const verdict = this.options.gate.check(plan.request, { signal: this.hold.signal, mode: this.options.mode.mode });
    const act = (v: Awaited<typeof verdict>) =>
      v.forward ? this.forward(packet.payload, plan, seq) : this.refuse(seq, { kind: 'refuse', ...v });
    return verdict instanceof Promise ? verdict.then(act) : act(verdict);
  }

  /** A KILL of a connection of the same session, translated to its server thread (PostgreSQL's cancel). */
  private kill(statement: MysqlStatementAnalysis) {
    return planKill(statement, this.options.mode.mode, (id) => this.options.killTarget?.(id));
  }

  private refuse(seq: number, plan: Extract<CommandPlan, { kind: 'refuse' }>): void {
    this.client.write(encodePacket(seq, encodeErr(plan)).bytes);
    if (plan.close) this.close('refused-command');
  }

  private forward(payload: Buffer, plan: Extract<CommandPlan, { kind: 'forward' }>, seq: number): void | Promise<void> {
    this.upstream.socket.write(encodePacket(0, payload).bytes);
    if (plan.reply === 'none') return;
    return new Promise<void>((done) => {
      this.reply = this.newReply(plan, seq, false, done);
    }).then(() => (plan.after === 'reset' ? this.hidden(this.options.resetSql) : undefined));
  }

  private hidden(sql: string): Promise<void> {
    this.upstream.socket.write(encodePacket(0, encodeStringCommand(COMMAND.QUERY, sql)).bytes);
    return new Promise<void>((done) => {
      this.reply = this.newReply({ kind: 'forward', reply: 'generic' }, 0, true, done);
    });
  }

  private newReply(
    plan: Extract<CommandPlan, { kind: 'forward' }>,
    seq: number,
    hidden: boolean,
    done: () => void,
  ): Reply {
    return {
      framer: new ResponseFramer(this.upstream.capabilities, this.options.clientCapabilities, plan.reply === 'prepare'),
      request: plan.request,
      nextClientSeq: seq,
      hidden,
      done,
      binary: plan.request?.kind === 'execute',
      types: [],
      resultIndex: 0,
      started: performance.now(),
      rows: 0,
      bytes: 0,
      affected: 0,
    };
  }

  private fromServer(packet: Packet): void {
    const reply = this.reply;
    if (!reply)
      throw new GatehouseError(
        'mysql.unexpected',
        'the server sent a packet nobody asked for; the connection is closed',
      );
    const { out, event } = reply.framer.push(packet.payload);
    let payloads = out;
    if (event) payloads = this.onEvent(reply, event, out);
    if (!reply.hidden) {
      for (const payload of payloads) {
        const added = this.outgoing.add(reply.nextClientSeq, payload);
        reply.nextClientSeq = added.nextSequenceId;
        reply.bytes += added.bytes;
        if (added.full) this.upstream.socket.pause();
      }
    }
    if (reply.framer.finished) this.finish(reply);
  }

  private onEvent(reply: Reply, event: ResponseEvent, out: Buffer[]): Buffer[] {
    switch (event.kind) {
      case 'ok':
        this.options.mode.apply(event.ok);
        reply.affected += event.ok.affectedRows;
        reply.resultIndex++;
        reply.transform = undefined;
        return out;
      case 'error':
        reply.errorCode = decodeErr(event.payload).code;
        return this.options.filter?.error ? [this.options.filter.error(reply.request, event.payload)] : out;
      case 'prepared':
        if (reply.request)
          this.prepared.add({
            id: event.statementId,
            sql: reply.request.sql,
            statements: reply.request.statements,
            paramCount: event.paramCount,
            columnCount: event.columnCount,
            longData: new Set(),
          });
        return out;
      case 'columns': {
        if (!this.options.filter) return out;
        const columns = event.definitions.map((d) => decodeColumnDefinition(d));
        const transform = this.options.filter.describe(reply.request, reply.resultIndex, columns, reply.binary);
        if (transform instanceof Promise)
          throw new GatehouseError('mysql.unmaskable', 'asynchronous masking plans are not supported yet');
        reply.transform = transform;
        reply.types = columns.map((c) => c.type);
        return out;
      }
      case 'row':
        reply.rows++;
        return reply.transform ? [this.mask(reply, event.payload)] : out;
      case 'done':
        return out;
    }
  }

  private mask(reply: Reply, payload: Buffer): Buffer {
    const types = reply.types;
    const values = reply.binary ? decodeBinaryRow(payload, types) : decodeTextRow(payload, types.length);
    const masked = reply.transform!.transform(values);
    if (!masked) return payload;
    return reply.binary ? encodeBinaryRow(masked, types) : encodeTextRow(masked);
  }

  private finish(reply: Reply): void {
    this.reply = undefined;
    this.hold = undefined;
    if (reply.request && !reply.hidden)
      this.options.gate.executed({
        request: reply.request,
        rows: reply.rows,
        affectedRows: reply.affected,
        bytes: reply.bytes,
        durationMs: performance.now() - reply.started,
        maskedValues: reply.transform?.maskedCount ?? 0,
        errorCode: reply.errorCode,
      });
    reply.done();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const known = error instanceof GatehouseError;
    this.options.log?.(`mysql relay: ${known ? error.code : 'internal'}: ${(error as Error).message}`);
    const message = known
      ? error.message
      : 'the gateway hit an internal error on this connection; it is closed, other connections are unaffected';
    this.outgoing.flush();
    this.client.write(
      encodePacket(this.reply?.nextClientSeq ?? 1, encodeErr({ code: 1105, sqlState: 'HY000', message })).bytes,
    );
    this.close(known ? error.code : 'internal-error');
  }

  private close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hold?.abort(new GatehouseError('mysql.client-gone', 'the client went away'));
    this.queue.stop();
    this.client.end();
    this.upstream.socket.end();
    setTimeout(() => {
      this.client.destroy();
      this.upstream.socket.destroy();
    }, 1000).unref();
    this.options.gate.close(reason);
    this.options.onClosed?.(reason);
  }
}
