/**
 * The real web server for listener benches: no LLM or TTS behind it (the
 * benches air stored audio straight through the engine's writer).
 */
import type { TokenSigner } from '../../src/auth';
import { systemClock } from '../../src/clock';
import type { Config } from '../../src/config';
import { silentLogger } from '../../src/log';
import type { NarrationService } from '../../src/narration/service';
import type { PlaybackEngine } from '../../src/playback';
import { startWebServer, type WebServer } from '../../src/web';

const NO_NARRATION: NarrationService = {
  llmAvailable: false,
  start: () => Promise.reject(new Error('not used in this bench')),
  voices: async () => [],
  close: async () => {},
};

/** Starts the web server on 127.0.0.1 (a free port) over `engine`, on the system clock. */
export function startBenchWeb(
  engine: PlaybackEngine,
  config: Config,
  tokens: TokenSigner,
): Promise<WebServer> {
  return startWebServer(
    { config, log: silentLogger, clock: systemClock, engine, narration: NO_NARRATION, tokens },
    { port: 0, host: '127.0.0.1' },
  );
}
