import './require-node';
import { ConfigError, loadConfig, type Config } from './config';
import { watchLauncher } from './launcher-watch';
import { createLogger } from './log';

/**
 * Entry point of `npm start`: validate config, start the app, shut down
 * cleanly (drain, flush, close) on SIGINT, SIGTERM or SIGHUP, or when the
 * npm that launched it exits (launcher-watch.ts).
 */
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
  const log = createLogger({ level: config.logLevel, secrets: configSecrets(config) });
  // Loaded after the Node version check (require-node) so an old Node gets one line, not a stack.
  const { startApp } = await import('./app');
  const app = await startApp(config, log);
  let stopping = false;
  const shutdown = (why: string) => {
    if (stopping) {
      // A second Ctrl+C (or signal) while draining: stop waiting.
      log.warn({ why }, 'shutting down now, without waiting for the drain');
      process.exit(1);
    }
    stopping = true;
    launcher.stop();
    log.info({ why }, 'shutting down');
    // A drain that hangs must not keep the process alive for ever.
    setTimeout(() => {
      log.error('shutdown did not finish within 60 s; exiting');
      process.exit(1);
    }, 60_000).unref();
    void app.close().finally(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
  // `kill -TERM <npm start>` does not reach this process (launcher-watch.ts): notice npm going instead.
  const launcher = watchLauncher({
    onGone: (gone) => shutdown(`launcher exited (pid ${gone.pid}: ${gone.command.slice(0, 60)})`),
  });
  if (launcher.chain.length > 0) {
    log.debug({ chain: launcher.chain.map((p) => p.pid) }, 'watching the launcher for shutdown');
  }
}

/** Values of the configuration that must never reach a log line. */
function configSecrets(config: Config): (string | undefined)[] {
  let dbPassword: string | undefined;
  try {
    dbPassword = config.databaseUrl ? decodeURIComponent(new URL(config.databaseUrl).password) : undefined;
  } catch {
    dbPassword = undefined;
  }
  return [
    config.discordToken,
    config.openaiApiKey,
    config.tokenSecret,
    config.databaseUrl,
    dbPassword,
    config.icecast?.password,
  ];
}

main().catch((err: unknown) => {
  process.stderr.write(`Bardcast failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
