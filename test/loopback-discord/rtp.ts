/**
 * The UDP side of a Discord voice server, shared by the loopback's
 * VoiceServer and bench/support/voice-server.ts: IP discovery and the
 * `aead_aes256_gcm_rtpsize` transport encryption.
 */
import { createDecipheriv } from 'node:crypto';

/** The answer to an IP discovery request (the address and port the server sees), or null when `msg` is not one. */
export function ipDiscoveryReply(msg: Buffer, from: { address: string; port: number }): Buffer | null {
  if (msg.length !== 74 || msg.readUInt16BE(0) !== 1) return null;
  const reply = Buffer.alloc(74);
  reply.writeUInt16BE(2, 0);
  reply.writeUInt16BE(70, 2);
  reply.writeUInt32BE(msg.readUInt32BE(4), 4);
  reply.write(from.address, 8, 'utf8');
  reply.writeUInt16BE(from.port, 72);
  return reply;
}

/** Whether `msg` can be an encrypted RTP packet (version 2; header, tag and nonce fit). */
export function isRtp(msg: Buffer): boolean {
  return msg.length >= 12 + 16 + 4 && (msg[0]! & 0xc0) === 0x80;
}

/**
 * Decrypts an `aead_aes256_gcm_rtpsize` packet with the session's key and
 * returns its Opus payload (a header extension's body dropped). Throws when
 * the packet does not authenticate.
 */
export function openRtp(msg: Buffer, key: Buffer): Buffer {
  const cc = msg[0]! & 0x0f;
  const extension = (msg[0]! & 0x10) !== 0;
  // rtpsize modes: the header (with CSRCs and the extension's 4-byte header) is the AAD.
  const headerLen = 12 + cc * 4 + (extension ? 4 : 0);
  const nonce = Buffer.alloc(12);
  msg.copy(nonce, 0, msg.length - 4);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(msg.subarray(0, headerLen));
  decipher.setAuthTag(msg.subarray(msg.length - 20, msg.length - 4));
  const payload = Buffer.concat([
    decipher.update(msg.subarray(headerLen, msg.length - 20)),
    decipher.final(),
  ]);
  if (!extension) return payload;
  const words = msg.readUInt16BE(12 + cc * 4 + 2);
  return payload.subarray(words * 4);
}
