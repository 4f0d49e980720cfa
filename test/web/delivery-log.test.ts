import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log';
import type { Delivery, DeliveryField, ListenerRecords } from '../../src/playback';
import { DeliveryLog } from '../../src/web/delivery-log';
import { audioOf } from '../support/audio';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { startTestEngine } from '../support/engine';
import { ManualClock } from '../support/manual-clock';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
});
afterAll(async () => {
  await tdb.close();
});

it('writes a broadcast to many listeners as one statement per field, with each real time', async () => {
  const t = await startTestEngine(tdb.repository);
  const { listeners, writer } = t.engine;
  const r = await writer.create('c1', 'A');
  const chunk = await writer.addChunk(r.id, 0, { text: 'a', audio: audioOf(500) });
  const ids = Array.from({ length: 50 }, (_, i) => `conn-${i}`);
  for (const id of ids) {
    await listeners.opened({
      id,
      campaignId: 'c1',
      tokenId: id,
      kind: 'PLAYER',
      status: 'CONNECTED',
      connectedAt: new Date(),
      lastHeartbeat: new Date(),
      disconnectedAt: null,
    });
  }
  const ops: DeliveryField[] = [];
  const counting: Pick<ListenerRecords, 'recordDeliveries'> = {
    recordDeliveries: (field, deliveries) => {
      ops.push(field);
      return listeners.recordDeliveries(field, deliveries);
    },
  };
  const log = new DeliveryLog({ records: counting, log: silentLogger, flushMs: 10_000 });
  const sent = new Date('2026-11-25T12:00:00.000Z');
  const acked = (i: number) => new Date(sent.getTime() + 100 + i);
  for (const id of ids) log.record('sentAt', id, chunk.id, sent);
  ids.forEach((id, i) => log.record('acknowledgedAt', id, chunk.id, acked(i)));
  expect(ops).toHaveLength(0);
  await log.flush();
  expect(ops).toEqual(['sentAt', 'acknowledgedAt']);
  const rows = await tdb.db.prisma.connectionPlaybackState.findMany({ orderBy: { acknowledgedAt: 'asc' } });
  expect(rows).toHaveLength(50);
  expect(rows.every((row) => row.sentAt?.getTime() === sent.getTime())).toBe(true);
  expect(rows.map((row) => row.acknowledgedAt?.getTime())).toEqual(ids.map((_, i) => acked(i).getTime()));
  await t.dispose();
});

it('flushes by itself after its delay, and at once past the batch size', async () => {
  const t = await startTestEngine(tdb.repository);
  const ops: { field: DeliveryField; deliveries: Delivery[] }[] = [];
  const counting: Pick<ListenerRecords, 'recordDeliveries'> = {
    recordDeliveries: async (field, deliveries) => {
      ops.push({ field, deliveries });
    },
  };
  const clock = new ManualClock();
  const timed = new DeliveryLog({ records: counting, log: silentLogger, clock, flushMs: 20 });
  timed.record('playedAt', 'k', 'c', new Date());
  clock.advance(19);
  timed.record('playedAt', 'k2', 'c', new Date()); // joins the waiting batch, does not restart the delay
  expect(ops).toHaveLength(0);
  clock.advance(1);
  expect(ops).toHaveLength(1);
  expect(ops[0]).toMatchObject({
    field: 'playedAt',
    deliveries: [{ connectionId: 'k' }, { connectionId: 'k2' }],
  });
  expect(clock.pending).toBe(0);
  const sized = new DeliveryLog({
    records: counting,
    log: silentLogger,
    clock,
    flushMs: 60_000,
    maxBatch: 3,
  });
  for (let i = 0; i < 3; i++) sized.record('sentAt', `k${i}`, 'c', new Date());
  expect(ops).toHaveLength(2);
  expect(clock.pending).toBe(0); // the delay it had armed was cleared by the early flush
  await t.dispose();
});

it('splits a large flush into statements of at most statementRows, written in order', async () => {
  const ops: { field: DeliveryField; ids: string[] }[] = [];
  const counting: Pick<ListenerRecords, 'recordDeliveries'> = {
    recordDeliveries: async (field, deliveries) => {
      ops.push({ field, ids: deliveries.map((d) => d.connectionId) });
    },
  };
  const clock = new ManualClock();
  const log = new DeliveryLog({ records: counting, log: silentLogger, clock, statementRows: 2 });
  for (let i = 0; i < 5; i++) log.record('sentAt', `k${i}`, 'c', new Date());
  log.record('playedAt', 'k0', 'c', new Date());
  const flushed = log.flush();
  // The first statement starts in the flush's own turn; the rest follow it.
  expect(ops).toHaveLength(1);
  await flushed;
  expect(ops).toEqual([
    { field: 'sentAt', ids: ['k0', 'k1'] },
    { field: 'sentAt', ids: ['k2', 'k3'] },
    { field: 'sentAt', ids: ['k4'] },
    { field: 'playedAt', ids: ['k0'] },
  ]);
});
