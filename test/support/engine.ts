import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/log';
import {
  FileAudioStore,
  startPlaybackEngine,
  type PlaybackEngine,
  type PlaybackEngineOptions,
  type PlaybackRepository,
} from '../../src/playback';
import { ManualClock } from './manual-clock';

/** A playback engine on a manual clock, a temp audio dir and the given repository. */
export interface TestEngine {
  engine: PlaybackEngine;
  clock: ManualClock;
  audioDir: string;
  dispose(): Promise<void>;
}

export async function startTestEngine(
  repository: PlaybackRepository,
  options: Partial<PlaybackEngineOptions> & { clock?: ManualClock; audioDir?: string } = {},
): Promise<TestEngine> {
  const clock = options.clock ?? new ManualClock();
  const audioDir = options.audioDir ?? (await mkdtemp(path.join(tmpdir(), 'bardcast-audio-')));
  const engine = await startPlaybackEngine({
    repository,
    store: new FileAudioStore(audioDir),
    clock,
    log: silentLogger,
    gapMs: 400,
    stallTimeoutMs: 180_000,
    ...options,
  });
  await engine.campaigns.ensure('c1', { name: 'Test campaign' });
  return {
    engine,
    clock,
    audioDir,
    dispose: async () => {
      await engine.stop();
      if (!options.audioDir) await rm(audioDir, { recursive: true, force: true });
    },
  };
}
