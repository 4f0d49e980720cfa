/**
 * What each browser test file shares: one app child process and one Chromium
 * for the whole file, the DM's API client, and the tabs a test opened (closed
 * after each test). Registers the lifecycle hooks; with `enabled` false (no
 * Chromium here, outside CI) it registers none.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startAppProcess, type AppProcess } from './app-process';
import { launchBrowser, type TestBrowser } from './browser';
import { ensurePagesBuilt } from './pages';
import { StationApi } from './station-api';

export interface BrowserSuite {
  /** The running app; a test may replace it (restart on the same port and data dir). */
  app: AppProcess;
  browser: TestBrowser;
  api: StationApi;
  /** Tabs to close after the test. */
  pages: Page[];
}

export function useBrowserSuite(enabled: boolean): BrowserSuite {
  const suite = { pages: [] as Page[] } as unknown as BrowserSuite;
  suite.api = new StationApi(() => suite.app);
  if (!enabled) return suite;
  beforeAll(async () => {
    await ensurePagesBuilt();
    [suite.app, suite.browser] = await Promise.all([startAppProcess(), launchBrowser()]);
  }, 150_000);
  afterEach(async () => {
    for (const page of suite.pages.splice(0)) await page.close();
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.app?.dispose();
  }, 30_000);
  return suite;
}
