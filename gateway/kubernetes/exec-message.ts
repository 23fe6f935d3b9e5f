import { EXEC_CHANNEL } from './exec-frames.ts';
import type { MaskText } from './object-masking.ts';

const MASKED_CHANNELS: ReadonlySet<number> = new Set([EXEC_CHANNEL.stdout, EXEC_CHANNEL.stderr, EXEC_CHANNEL.error]);

/**
 * One WebSocket message of an exec, attach or port-forward stream from the API server, masked
 * before the client sees it: on the binary protocols (`v4`/`v5.channel.k8s.io`) the first byte is
 * the channel and stdout, stderr and the error Status go through the content detectors; on the
 * base64 protocols the channel is an ASCII digit and the payload is decoded, masked and re-encoded.
 * Each message is masked whole (a secret split across two messages is not caught).
 */
export function maskExecMessage(data: Buffer, isBinary: boolean, maskText: MaskText): Buffer {
  if (data.length === 0) return data;
  if (isBinary) {
    if (!MASKED_CHANNELS.has(data[0]!)) return data;
    const masked = maskText(data.subarray(1).toString('utf8'));
    return masked.count === 0 ? data : Buffer.concat([data.subarray(0, 1), Buffer.from(masked.text, 'utf8')]);
  }
  const text = data.toString('latin1');
  const channel = Number(text[0]);
  if (!MASKED_CHANNELS.has(channel)) return data;
  const masked = maskText(Buffer.from(text.slice(1), 'base64').toString('utf8'));
  if (masked.count === 0) return data;
  return Buffer.from(`${text[0]}${Buffer.from(masked.text, 'utf8').toString('base64')}`, 'latin1');
}
