import { describe, expect, it } from 'vitest';
import { SECRET_MARKER_BASE64 } from '../../../gateway/kubernetes/object-masking.ts';
import { WatchEventSplitter, WatchMasker } from '../../../gateway/kubernetes/watch-masker.ts';

const identity = (text: string) => ({ text, count: 0 });
const event = (type: string, value: string) =>
  JSON.stringify({
    type,
    object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'n{"}' }, data: { k: value } },
  });

describe('WatchEventSplitter', () => {
  it('finds the same events however the stream is cut, braces and escapes inside strings included', () => {
    const stream = Buffer.from(
      `${event('ADDED', 'c2VjcmV0')}\n${event('MODIFIED', 'b3RoZXI=')}\n  ${JSON.stringify({ type: 'X', object: { s: 'a\\"}{' } })}\n`,
    );
    for (let cut = 1; cut < stream.length; cut++) {
      const splitter = new WatchEventSplitter();
      const events = [...splitter.push(stream.subarray(0, cut)), ...splitter.push(stream.subarray(cut))];
      expect(events.map((e) => JSON.parse(e.toString()).type)).toEqual(['ADDED', 'MODIFIED', 'X']);
      expect(splitter.partial).toBe(false);
    }
  });

  it('refuses a stream that is not JSON objects', () => {
    expect(() => new WatchEventSplitter().push(Buffer.from('[1]'))).toThrow('other than JSON objects');
  });
});

describe('WatchMasker', () => {
  it('masks Secret values in every event, releasing an event only when it is complete', () => {
    const masker = new WatchMasker(identity);
    const text = `${event('ADDED', 'c2VjcmV0')}\n`;
    const first = masker.push(Buffer.from(text.slice(0, 40)));
    expect(first.length).toBe(0);
    const rest = masker.push(Buffer.from(text.slice(40)));
    const masked = JSON.parse(rest.toString());
    expect(masked.object.data.k).toBe(SECRET_MARKER_BASE64);
    expect(masker.counts.secretValues).toBe(1);
    masker.end();
  });

  it('reports a stream that ended inside an event', () => {
    const masker = new WatchMasker(identity);
    masker.push(Buffer.from('{"type":"ADDED","object":{'));
    expect(() => masker.end()).toThrow('inside an event');
  });
});
