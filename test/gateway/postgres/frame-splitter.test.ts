import { describe, expect, it } from 'vitest';
import { FrameSplitter } from '../../../gateway/postgres/frame-splitter.ts';

/** A typed message: type byte, Int32 length (itself included), body. */
function message(type: string, body: string): Buffer {
  const payload = Buffer.from(body, 'utf8');
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(payload.length + 4, 1);
  return Buffer.concat([header, payload]);
}

/** A startup-phase message: Int32 length, Int32 code, body (no type byte). */
function startup(code: number, body = ''): Buffer {
  const payload = Buffer.from(body, 'utf8');
  const header = Buffer.alloc(8);
  header.writeInt32BE(payload.length + 8, 0);
  header.writeInt32BE(code, 4);
  return Buffer.concat([header, payload]);
}

const splitter = () => new FrameSplitter({ startup: false, maxMessageBytes: 1024 });

describe('FrameSplitter', () => {
  it('cuts several messages of one chunk, in order, as zero-copy views of the chunk', () => {
    const chunk = Buffer.concat([message('Q', 'SELECT 1\0'), message('S', '')]);
    const frames = splitter().push(chunk);
    expect(frames.map((f) => String.fromCharCode(f.type))).toEqual(['Q', 'S']);
    expect(frames[0]!.body.toString()).toBe('SELECT 1\0');
    expect(frames[1]!.body.length).toBe(0);
    expect(frames[0]!.bytes.buffer).toBe(chunk.buffer);
  });

  it('keeps a message split across chunks, even inside its header, until it is complete', () => {
    const whole = message('Q', 'SELECT 42\0');
    const s = splitter();
    expect(s.push(whole.subarray(0, 3))).toEqual([]);
    expect(s.buffered).toBe(3);
    expect(s.push(whole.subarray(3, 9))).toEqual([]);
    const frames = s.push(Buffer.concat([whole.subarray(9), message('S', '').subarray(0, 2)]));
    expect(frames.map((f) => f.bytes)).toEqual([whole]);
    expect(s.buffered).toBe(2);
  });

  it('refuses a length below 4 or above the limit: the stream is out of sync', () => {
    const short = Buffer.from([0x51, 0, 0, 0, 3]);
    expect(() => splitter().push(short)).toThrow(expect.objectContaining({ code: 'pg.bad-length' }));
    const long = message('Q', 'x'.repeat(1100));
    expect(() => splitter().push(long)).toThrow(/outside 4\.\.1024 bytes/);
  });

  it('hands out one startup message at a time and the bytes after it on a mode change', () => {
    const s = new FrameSplitter({ startup: true, maxMessageBytes: 1024 });
    const ssl = startup(80877103);
    const frames = s.push(Buffer.concat([ssl, Buffer.from('TLS')]));
    expect(frames.map((f) => [f.type, f.bytes.length])).toEqual([[0, 8]]);
    expect(frames[0]!.body.readInt32BE(0)).toBe(80877103);
    expect(s.takeRemainder().toString()).toBe('TLS');
    expect(s.buffered).toBe(0);
  });

  it('switches to typed messages when the caller says the startup phase is over', () => {
    const s = new FrameSplitter({ startup: true, maxMessageBytes: 1024 });
    expect(s.push(startup(196608, 'user\0ci\0\0')).length).toBe(1);
    s.startup = false;
    expect(s.push(message('p', 'secret\0')).map((f) => String.fromCharCode(f.type))).toEqual(['p']);
  });
});
