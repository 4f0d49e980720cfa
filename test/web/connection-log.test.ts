import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log';
import type { ConnectionBatch, ConnectionRecord } from '../../src/playback';
import { ConnectionLog } from '../../src/web/connection-log';
import { ManualClock } from '../support/manual-clock';

const T0 = new Date('2026-11-25T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function row(id: string, campaignId = 'c1'): ConnectionRecord {
  return {
    id,
    campaignId,
    tokenId: `tok-${id}`,
    kind: 'PLAYER',
    status: 'CONNECTED',
    connectedAt: T0,
    lastHeartbeat: T0,
    disconnectedAt: null,
  };
}

/** A ConnectionLog on a manual clock whose writes are recorded; `hold` keeps writes pending until released. */
function harness(options: { flushMs?: number; maxBatch?: number; fail?: boolean } = {}) {
  const clock = new ManualClock();
  const writes: ConnectionBatch[] = [];
  const ensured: string[][] = [];
  let ensuring: string[] = [];
  const held: (() => void)[] = [];
  let hold = false;
  const log = new ConnectionLog({
    records: {
      recordConnections: async (batch) => {
        ensured.push(ensuring);
        ensuring = [];
        if (hold) await new Promise<void>((resolve) => held.push(resolve));
        if (options.fail) throw new Error('database refused');
        writes.push(structuredClone(batch));
      },
    },
    ensureCampaign: async (id) => {
      ensuring.push(id);
    },
    log: silentLogger,
    clock,
    ...(options.flushMs === undefined ? {} : { flushMs: options.flushMs }),
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
  });
  return {
    clock,
    log,
    writes,
    ensured,
    held,
    setHold: (h: boolean) => (hold = h),
  };
}

/** Lets queued promise callbacks run (no time passes on any clock). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('ConnectionLog', () => {
  it('writes opens, heartbeats and closes of one flush window as one batch, heartbeats coalesced', async () => {
    const h = harness({ flushMs: 100 });
    // Rows written before the window: their heartbeats and closes are separate entries.
    h.log.heartbeat('old1', at(1_000));
    h.log.heartbeat('old1', at(3_000));
    h.log.heartbeat('old1', at(2_000)); // older than the one waiting: ignored
    h.log.closed('old2', 'DISCONNECTED', at(1_500));
    h.log.closed('old2', 'FAILED', at(1_600)); // a connection closes once
    const registered = [h.log.opened(row('n1')), h.log.opened(row('n2', 'c2')), h.log.opened(row('n3'))];
    let written = false;
    void Promise.all(registered).then(() => (written = true));
    h.clock.advance(99);
    await settle();
    expect(h.writes).toHaveLength(0);
    expect(h.log.pending).toBe(5);
    h.clock.advance(1);
    await Promise.all(registered);
    expect(written).toBe(true);
    expect(h.writes).toEqual([
      {
        opened: [row('n1'), row('n2', 'c2'), row('n3')],
        heartbeats: [{ id: 'old1', at: at(3_000) }],
        closed: [{ id: 'old2', status: 'DISCONNECTED', at: at(1_500) }],
      },
    ]);
    // Each campaign of the batch's rows was ensured once, before the write.
    expect(h.ensured).toEqual([['c1', 'c2']]);
    expect(h.log.pending).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('folds a heartbeat and a close of a row still waiting into the row itself', async () => {
    const h = harness();
    const done = h.log.opened(row('a'));
    h.log.heartbeat('a', at(500));
    h.log.closed('a', 'FAILED', at(700));
    h.log.heartbeat('a', at(800)); // after its close: nothing to keep alive
    h.log.closed('a', 'DISCONNECTED', at(900));
    await h.log.flush();
    await done;
    expect(h.writes).toEqual([
      {
        opened: [{ ...row('a'), lastHeartbeat: at(500), status: 'FAILED', disconnectedAt: at(700) }],
        heartbeats: [],
        closed: [],
      },
    ]);
  });

  it('flushes at once when the batch is full, without waiting for the delay', async () => {
    const h = harness({ flushMs: 10_000, maxBatch: 3 });
    const opens = [h.log.opened(row('a')), h.log.opened(row('b'))];
    h.log.heartbeat('z', at(1));
    await Promise.all(opens);
    expect(h.writes).toHaveLength(1);
    expect(h.writes[0]!.opened.map((r) => r.id)).toEqual(['a', 'b']);
    expect(h.clock.pending).toBe(0);
  });

  it('keeps batches in order: a close is written only after the batch with its open', async () => {
    const h = harness();
    h.setHold(true);
    const open = h.log.opened(row('a'));
    const first = h.log.flush();
    await settle();
    expect(h.held).toHaveLength(1);
    h.setHold(false);
    h.log.closed('a', 'DISCONNECTED', at(50));
    const second = h.log.flush();
    await settle();
    // The second batch waits behind the first, still held.
    expect(h.writes).toHaveLength(0);
    expect(h.ensured).toHaveLength(1);
    h.held[0]!();
    await Promise.all([open, first, second]);
    expect(h.writes.map((b) => [b.opened.length, b.closed.length])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('a refused write is logged and dropped: its waiters go on, later batches are written', async () => {
    const h = harness({ fail: true });
    const open = h.log.opened(row('a'));
    await h.log.flush();
    await open;
    expect(h.writes).toHaveLength(0);
    expect(h.ensured).toHaveLength(1);
  });

  it('a flush with nothing waiting writes nothing', async () => {
    const h = harness();
    await h.log.flush();
    expect(h.ensured).toHaveLength(0);
    expect(h.clock.pending).toBe(0);
  });
});
