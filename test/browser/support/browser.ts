/**
 * Debian's Chromium driven by playwright-core (no browser download). One
 * browser per test file, a fresh user-data-dir each time. Without Chromium
 * the suite is skipped locally with a clear message, and fails in CI.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where Debian (and `.ci/run`) install Chromium. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, self-contained headless Chromium that may play audio without a gesture. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  // A background page's timers must not be throttled while a test looks at another page.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/**
 * Whether the browser suites can run. In CI (`CI` set) a missing Chromium is
 * an error, never a silent skip; locally it is a skip with a reason.
 */
export function chromiumAvailability(): { available: true } | { available: false; reason: string } {
  if (existsSync(CHROMIUM_PATH)) return { available: true };
  const reason = `${CHROMIUM_PATH} not found: browser tests need Debian's chromium (apt-get install chromium)`;
  if (process.env.CI) throw new Error(`${reason}; CI must run them.`);
  console.warn(`[browser tests skipped] ${reason}`);
  return { available: false, reason };
}

/** A launched browser with its own profile. */
export interface TestBrowser {
  context: BrowserContext;
  /** A new tab; console errors and page errors are collected in `errors`. */
  newPage(): Promise<Page>;
  /** Uncaught page errors and console errors seen so far (all tabs). */
  errors: string[];
  close(): Promise<void>;
}

/** Launches Chromium with a fresh user-data-dir. */
export async function launchBrowser(): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'bardcast-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 900 },
    timeout: 60_000,
  });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    errors,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
