import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeTextFrames } from '../../src/web/ws/frames';

it('encodes text frames of every length class, in order, that a WebSocket client reads back', async () => {
  const messages = [
    '',
    'x',
    'é'.repeat(62),
    'a'.repeat(125),
    'b'.repeat(126),
    'ü'.repeat(40_000),
    'c'.repeat(70_000),
  ];
  expect(encodeTextFrames([]).length).toBe(0);
  // A real server socket gets the frames written raw, as the hub does; a real client reads them.
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, () => socket.write(encodeTextFrames(messages))),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const received = await new Promise<string[]>((resolve, reject) => {
      const out: string[] = [];
      client.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) reject(new Error('binary frame'));
        out.push(data.toString('utf8'));
        if (out.length === messages.length) resolve(out);
      });
      client.on('error', reject);
    });
    expect(received).toEqual(messages);
    client.terminate();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
