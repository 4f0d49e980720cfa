import './require-node';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger } from './log';

/** Entry point of `npm start`: validate config, start the app, shut down cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.example for every setting.\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel });
  // Loaded after the Node version check (require-node) so an old Node gets one line, not a stack.
  const { startApp } = await import('./app');
  const app = await startApp(config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    void app.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Bardcast failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
