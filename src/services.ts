import type { TokenSigner } from './auth';
import type { CastService } from './cast';
import type { Clock } from './clock';
import type { Config } from './config';
import type { Logger } from './log';
import type { NarrationService } from './narration/service';
import type { PlaybackEngine } from './playback';
import type { SceneService } from './scenes';
import type { RecapService, TranscriptService } from './transcript';

/**
 * What the composition root (main.ts) hands to the bot and the web companion.
 * One instance per process; nothing here lives in a module global.
 */
export interface AppServices {
  config: Config;
  log: Logger;
  clock: Clock;
  engine: PlaybackEngine;
  narration: NarrationService;
  tokens: TokenSigner;
  /** The campaigns' casts (character voices). */
  cast?: CastService | undefined;
  /** Prepared scenes. */
  scenes?: SceneService | undefined;
  /** The campaigns' transcripts and sessions. */
  transcript?: TranscriptService | undefined;
  /** "Previously on…" recaps. */
  recap?: RecapService | undefined;
}
