// The Discord side of bench/voice.ts, in a process of its own: a minimal
// loopback voice server. A voice gateway (WebSocket over TLS, protocol v8:
// Hello, Identify → Ready, Select Protocol → Session Description with
// `aead_aes256_gcm_rtpsize` and a random key per connection, heartbeats) and
// one UDP socket that answers IP discovery and receives every player's RTP
// packets, decrypting and authenticating each with that connection's key.
// DAVE is not negotiated (dave_protocol_version 0): this measures the
// transport, the part every playback pays.
//
// IPC in: `reset` (start of a measurement window), `stats` (end of it).
// IPC out: `ready` { endpoint }, `stats` { perSsrc: [...] }.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { ipDiscoveryReply, isRtp, openRtp } from '../../test/loopback-discord/rtp';

const { values } = parseArgs({ options: { cert: { type: 'string' }, key: { type: 'string' } } });
const epochMs = () => performance.timeOrigin + performance.now();

interface Peer {
  key: Buffer;
  /** Packets in the window: RTP timestamp and arrival time (epoch ms). */
  ts: number[];
  at: number[];
  failed: number;
  /** Arrival of the first packet ever (start latency). */
  firstAt: number;
}
const peers = new Map<number, Peer>();
let nextSsrc = 1000;

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => {
  const now = epochMs();
  const discovery = ipDiscoveryReply(msg, rinfo);
  if (discovery) {
    udp.send(discovery, rinfo.port, rinfo.address);
    return;
  }
  if (!isRtp(msg)) return; // keep-alives and the like
  const peer = peers.get(msg.readUInt32BE(8));
  if (!peer) return;
  try {
    openRtp(msg, peer.key);
  } catch {
    peer.failed++;
    return;
  }
  if (!(peer.firstAt > 0)) peer.firstAt = now;
  peer.ts.push(msg.readUInt32BE(4));
  peer.at.push(now);
});
await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
const udpPort = (udp.address() as AddressInfo).port;

const server = https.createServer({ cert: readFileSync(values.cert!), key: readFileSync(values.key!) });
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  let seq = 0;
  let ssrc = 0;
  const send = (op: number, d: unknown) => ws.send(JSON.stringify({ op, d, seq: ++seq }));
  send(8, { heartbeat_interval: 13_750, v: 8 });
  ws.on('message', (raw) => {
    let p: { op: number; d: Record<string, unknown> };
    try {
      p = JSON.parse(String(raw));
    } catch {
      return;
    }
    if (p.op === 0) {
      ssrc = nextSsrc++;
      peers.set(ssrc, { key: randomBytes(32), ts: [], at: [], failed: 0, firstAt: 0 });
      send(2, {
        ssrc,
        ip: '127.0.0.1',
        port: udpPort,
        modes: ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'],
        heartbeat_interval: 13_750,
      });
    } else if (p.op === 1) {
      const peer = peers.get(ssrc);
      if (!peer) return;
      send(4, { mode: 'aead_aes256_gcm_rtpsize', secret_key: [...peer.key], dave_protocol_version: 0 });
    } else if (p.op === 3) {
      ws.send(JSON.stringify({ op: 6, d: { t: (p.d as unknown as { t: number }).t ?? p.d } }));
    }
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;

/** Per-player figures of the window. */
function stats() {
  return [...peers.entries()].map(([ssrc, p]) => {
    const n = p.at.length;
    if (n < 2) return { ssrc, packets: n, failed: p.failed, firstAt: p.firstAt };
    const t0 = p.ts[0]!;
    // Slot of each packet from its RTP timestamp; the schedule is the earliest one all packets fit.
    let base = Number.POSITIVE_INFINITY;
    const slots = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      slots[i] = (((p.ts[i]! - t0) >>> 0) / 960) * 20;
      base = Math.min(base, p.at[i]! - slots[i]!);
    }
    let late5 = 0;
    let maxLate = 0;
    let maxGap = 0;
    for (let i = 0; i < n; i++) {
      const late = p.at[i]! - slots[i]! - base;
      if (late > 5) late5++;
      maxLate = Math.max(maxLate, late);
      if (i > 0) maxGap = Math.max(maxGap, p.at[i]! - p.at[i - 1]!);
    }
    const spanMs = p.at[n - 1]! - p.at[0]!;
    return {
      ssrc,
      packets: n,
      failed: p.failed,
      firstAt: p.firstAt,
      packetsPerSec: ((n - 1) / spanMs) * 1000,
      late5,
      maxLateMs: maxLate,
      maxGapMs: maxGap,
      firstInWindow: p.at[0]!,
    };
  });
}

process.on('message', (m: { type: string }) => {
  if (m.type === 'reset') {
    for (const p of peers.values()) {
      p.ts = [];
      p.at = [];
      p.failed = 0;
    }
    process.send?.({ type: 'reset-done' });
  } else if (m.type === 'forget') {
    peers.clear();
    process.send?.({ type: 'forget-done' });
  } else if (m.type === 'stats') {
    process.send?.({ type: 'stats', perSsrc: stats() });
  } else if (m.type === 'stop') {
    udp.close();
    wss.close();
    server.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', endpoint: `127.0.0.1:${port}` });
