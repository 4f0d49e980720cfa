import { afterAll, beforeAll } from 'vitest';
import type { FakeOpenAiOptions, FakeOpenAiServer } from '../../../src/narration/fake-openai-server';
import { LoopbackDiscord } from '../loopback';
import { startBotApp, startFakeOpenAi, type BotApp, type BotAppOptions } from './app';
import { connectListener, type WebListener } from './listener';

/** What a loopback test file runs against: one app for the whole file. */
export interface LoopbackApp {
  loopback: LoopbackDiscord;
  openai: { server: FakeOpenAiServer; url: string };
  app: BotApp;
  /** A web listener in the first guild, connected with a `/listen` link. */
  listener: WebListener;
}

/** Options of {@link useLoopbackApp}: the app's, and the fake OpenAI server's before the app starts. */
export interface LoopbackAppOptions extends BotAppOptions {
  openai?: Partial<FakeOpenAiOptions>;
}

/**
 * Starts the loopback Discord, the fake OpenAI server, the app and a web
 * listener before the file's tests (`started` hands them over), and closes
 * them after, listener first. A part that failed to start leaves the ones
 * before it to the closing hook.
 */
export function useLoopbackApp(options: LoopbackAppOptions, started: (parts: LoopbackApp) => void): void {
  const { openai: openaiOptions, ...appOptions } = options;
  let parts: Partial<LoopbackApp> = {};
  beforeAll(async () => {
    const loopback = (parts.loopback = await LoopbackDiscord.start());
    const openai = (parts.openai = await startFakeOpenAi());
    if (openaiOptions) openai.server.setOptions(openaiOptions);
    const app = (parts.app = await startBotApp(loopback, openai, appOptions));
    parts.listener = await connectListener(loopback, app, loopback.guild());
    started(parts as LoopbackApp);
  }, 120_000);
  afterAll(async () => {
    await parts.listener?.close();
    await parts.app?.dispose();
    await parts.openai?.server.stop();
    await parts.loopback?.close();
    parts = {};
  });
}
