/**
 * Crash trials (DESIGN.md rule 6, "nothing is lost"): the real server process
 * is SIGKILLed at seeded random moments while 20 narrations (`say`, and
 * `narrate` through the fake OpenAI API) generate and play, restarted on the
 * same data, and audited: every request PLAYED with all its chunks, no
 * duplicate rows, each restart resumed at the first unplayed chunk, and no
 * chunk PLAYED that a web listener did not see scheduled to its end.
 * Once on PGlite, once on PostgreSQL (a database of its own).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { backends } from '../support/db';
import { runCrashTrial, type CrashReport } from './support/crash-run';

const SEED = Number(process.env['FAULT_SEED'] ?? 20261130);
const KILLS = 10;
/** The first kills fall while narrations are still generating; the rest during playback. */
const KILLS_DURING_GENERATION = 5;

function summary(backend: string, r: CrashReport): string {
  return (
    `[measure] crash ${backend}: seed ${r.seed}, ${r.kills.length} kills at ${r.kills.map((k) => `${k.afterMs}${k.midGeneration ? '*' : ''}`).join(' ')} ms ` +
    `(* mid-generation: ${r.kills.filter((k) => k.midGeneration).length}); ${r.posted.length} narrations, ` +
    `${r.final.requests.reduce((n, q) => n + q.chunks.length, 0)} chunks; lost ${r.lost.length}, duplicated ${r.duplicated.length}, ` +
    `wrong resumes ${r.wrongResumes.length} of ${r.resumesChecked} checked (kills between a request's last chunk and its own PLAYED write: ${r.kills.filter((k) => k.airedWhole > 0).length}), played-not-aired ${r.playedNotAired.length} ` +
    `(checked ${r.airingChecked.observed} against the listener's schedule, ${r.airingChecked.beforeListener} before it connected); ` +
    `temp files left by kills ${r.kills.reduce((n, k) => n + k.tempFiles.length, 0)}, surviving the next start ${r.leftovers.length}; ` +
    `${(r.wallMs / 1000).toFixed(1)} s`
  );
}

function expectNothingLost(r: CrashReport): void {
  if (r.lost.length > 0) console.info(`last run's output:\n${r.lastOutput}`);
  expect(r.lost).toEqual([]);
  expect(r.duplicated).toEqual([]);
  // A kill between a request's last chunk PLAYED and its own PLAYED write (two
  // writes; on PostgreSQL a round trip apart) leaves it aired whole: the
  // restart ends it and resumes at the next request (snapshot.ts firstUnplayed).
  expect(r.wrongResumes).toEqual([]);
  expect(r.playedNotAired).toEqual([]);
  expect(r.leftovers).toEqual([]);
  expect(r.kills.filter((k) => k.midGeneration).length).toBeGreaterThanOrEqual(KILLS_DURING_GENERATION);
}

describe('crash: SIGKILL at random moments, restart, nothing lost', () => {
  it('on PGlite', { timeout: 900_000 }, async () => {
    const report = await runCrashTrial({
      seed: SEED,
      kills: KILLS,
      narrations: 20,
      killsDuringGeneration: KILLS_DURING_GENERATION,
    });
    console.info(summary('PGlite', report));
    expectNothingLost(report);
  });

  it.runIf(backends.includes('postgres'))('on PostgreSQL', { timeout: 900_000 }, async () => {
    const server = process.env['TEST_DATABASE_URL'] as string;
    const name = `bardcast_crash_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(server);
    url.pathname = `/${name}`;
    try {
      const report = await runCrashTrial({
        seed: SEED + 1,
        kills: KILLS,
        narrations: 20,
        killsDuringGeneration: KILLS_DURING_GENERATION,
        databaseUrl: url.toString(),
      });
      console.info(summary('PostgreSQL', report));
      expectNothingLost(report);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
