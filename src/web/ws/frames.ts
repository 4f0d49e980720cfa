/**
 * WebSocket text frames built once for many sockets (RFC 6455 §5.2, server to
 * client: FIN set, not masked, not compressed; the hub turns per-message
 * deflate off). A broadcast to thousands of listeners then costs one buffer
 * and one socket write per listener, instead of one `ws.send` per message and
 * listener, each encoding the string again and writing header and payload
 * apart (bench/RESULTS.md, "Web listeners").
 */

const OPCODE_TEXT = 0x1;
const FIN = 0x80;

/** The header of an unmasked final text frame carrying `length` bytes. */
function header(length: number): Buffer {
  if (length < 126) return Buffer.from([FIN | OPCODE_TEXT, length]);
  if (length < 65_536) {
    const h = Buffer.alloc(4);
    h[0] = FIN | OPCODE_TEXT;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = FIN | OPCODE_TEXT;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** One buffer holding a text frame per message, in order. */
export function encodeTextFrames(messages: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const message of messages) {
    const payload = Buffer.from(message, 'utf8');
    parts.push(header(payload.length), payload);
  }
  return Buffer.concat(parts);
}
