import { describe, expect, it } from 'vitest';
import {
  ChunkStatus,
  GenerationStatus,
  InvalidTransitionError,
  RequestStatus,
  canTransitionChunk,
  canTransitionGeneration,
  canTransitionRequest,
} from '../../src/playback';
import { transitionChunk, transitionRequest } from '../../src/playback/transitions';

const R = RequestStatus;
const G = GenerationStatus;
const C = ChunkStatus;

/** Every pair of states, checked against the table in DESIGN.md "States". */
function table<S extends string>(all: S[], allowed: [S, S][], can: (a: S, b: S) => boolean) {
  for (const from of all) {
    for (const to of all) {
      const expected = allowed.some(([a, b]) => a === from && b === to);
      expect([from, to, can(from, to)]).toEqual([from, to, expected]);
    }
  }
}

describe('state machines', () => {
  it('request status: exactly the DESIGN.md transitions', () => {
    table(
      Object.values(R),
      [
        [R.Pending, R.Playing],
        [R.Pending, R.Cancelled],
        [R.Pending, R.Failed],
        [R.Playing, R.Played],
        [R.Playing, R.Failed],
        [R.Playing, R.Cancelled],
      ],
      canTransitionRequest,
    );
  });

  it('generation: forward only, final states stay final', () => {
    table(
      Object.values(G),
      [
        [G.Pending, G.Generating],
        [G.Pending, G.Generated],
        [G.Pending, G.Failed],
        [G.Generating, G.Generated],
        [G.Generating, G.Failed],
      ],
      canTransitionGeneration,
    );
  });

  it('chunk: READY → PLAYING → PLAYED, or SKIPPED; PLAYING → READY only for recovery', () => {
    table(
      Object.values(C),
      [
        [C.Ready, C.Playing],
        [C.Ready, C.Skipped],
        [C.Playing, C.Played],
        [C.Playing, C.Skipped],
        [C.Playing, C.Ready],
      ],
      canTransitionChunk,
    );
  });

  it('a refused transition throws with the aggregate and both states, and changes nothing', () => {
    const req = { id: 'r1', status: R.Played } as Parameters<typeof transitionRequest>[0];
    expect(() => transitionRequest(req, R.Playing, new Date())).toThrow(InvalidTransitionError);
    expect(() => transitionRequest(req, R.Playing, new Date())).toThrow(
      'request r1: PLAYED → PLAYING is not allowed',
    );
    expect(req.status).toBe(R.Played);
    const chunk = { id: 'k', status: C.Skipped } as Parameters<typeof transitionChunk>[0];
    expect(() => transitionChunk(chunk, C.Played, new Date())).toThrow(/chunk k: SKIPPED → PLAYED/);
  });

  it('stamps times: started on PLAYING, finished on a final status, played on PLAYED', () => {
    const at = new Date('2026-11-25T00:00:00Z');
    const req = { id: 'r', status: R.Pending, startedAt: null, finishedAt: null } as unknown as Parameters<
      typeof transitionRequest
    >[0];
    expect(transitionRequest(req, R.Playing, at)).toEqual({
      op: 'moveRequest',
      id: 'r',
      from: R.Pending,
      patch: { status: R.Playing, startedAt: at },
    });
    expect(transitionRequest(req, R.Failed, at, 'boom')).toEqual({
      op: 'moveRequest',
      id: 'r',
      from: R.Playing,
      patch: { status: R.Failed, finishedAt: at, error: 'boom' },
    });
    const chunk = { id: 'k', status: C.Playing, playedAt: null } as Parameters<typeof transitionChunk>[0];
    expect(transitionChunk(chunk, C.Played, at)).toEqual({
      op: 'moveChunk',
      id: 'k',
      from: C.Playing,
      patch: { status: C.Played, playedAt: at },
    });
  });
});
