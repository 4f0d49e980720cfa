/**
 * Takes the screenshots in docs/: the listener page at a phone width and the
 * DM console at a desktop width, both mid-playback.
 *
 *   npx tsx scripts/screenshots.ts [outDir=docs]
 *
 * Starts the real app (as the browser tests do: temp data dir, demo LLM,
 * offline TTS), queues narrations, and drives Debian's Chromium through
 * playwright-core. Needs /usr/bin/chromium and built pages (`npm run build`;
 * built here when missing or stale).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { REPO_ROOT, startAppProcess } from '../test/browser/support/app-process';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/browser/support/browser';
import { openPage, tapToStart, waitForSignal } from '../test/browser/support/page-probe';
import { ensurePagesBuilt } from '../test/browser/support/pages';
import { StationApi } from '../test/browser/support/station-api';

const NOW =
  'The storm breaks over Ravenhold as you reach the gate. Lightning splits the sky and, for a heartbeat, ' +
  'you see a figure on the wall above you, cloak snapping in the wind. The portcullis groans as it rises. ' +
  'Somewhere inside, a bell begins to toll, slow and heavy, once for every soul the keep has lost. ' +
  'The guard captain steps out of the shadows with a lantern and studies your faces one by one.';
const NEXT = [
  'The captain lowers her lantern. "You are late," she says. "The Duke has been waiting since dusk."',
  'Roll for initiative.',
];
const EARLIER = 'Three days on the north road, and not a single inn with a dry bed.';

/** Waits until a caption is shown and the level meter moves: the page is visibly playing. */
async function playing(page: Page, requestId: string): Promise<void> {
  await waitForSignal(page, requestId, 0.02, 30_000);
  await page.waitForFunction(
    () => (document.querySelector('[data-testid="caption"]')?.textContent ?? '').trim().length > 0,
    undefined,
    { timeout: 10_000 },
  );
}

async function main(): Promise<void> {
  const outDir = path.resolve(REPO_ROOT, process.argv[2] ?? 'docs');
  await mkdir(outDir, { recursive: true });
  await ensurePagesBuilt();
  const app = await startAppProcess();
  const api = new StationApi(() => app);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    // Something in the history, then the scene on air and two more queued.
    const earlier = await api.narrate(EARLIER);
    await api.waitForQueue(
      (q) => q.history.some((r) => r.request_id === earlier && r.status === 'PLAYED'),
      30_000,
      'the first narration played',
    );

    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      colorScheme: 'dark',
    });
    const desktop = await browser.newContext({
      viewport: { width: 1280, height: 860 },
      deviceScaleFactor: 1,
      colorScheme: 'dark',
    });
    const listener = await openPage(await phone.newPage(), app.links.listenUrl);
    const dm = await openPage(await desktop.newPage(), app.links.dmUrl);
    await tapToStart(listener);
    await dm.getByTestId('listen-toggle').check();

    const now = await api.narrate(NOW);
    for (const text of NEXT) await api.narrate(text, 'say');
    await api.onAir(now);
    await playing(listener, now);
    await playing(dm, now);
    // A draft in the DM's box, as mid-session.
    await dm.getByTestId('narration-text').fill('The Duke rises from his throne, wine cup in hand');
    // Let the position pass the first sentence so captions and progress show motion, and the
    // queued narrations finish voicing (a player's list shows their kind and length, not their text).
    await api.waitForQueue(
      (q) =>
        (q.now_playing?.sequence_number ?? 0) >= 1 &&
        q.pending.length === NEXT.length &&
        q.pending.every((r) => r.generation === 'GENERATED') &&
        q,
      60_000,
      'the second sentence, with the queued narrations voiced',
    );
    await listener.waitForFunction(() => (window.__bardcast?.level() ?? 0) > 0.05, undefined, {
      timeout: 10_000,
    });

    await listener.screenshot({ path: path.join(outDir, 'listener.png'), fullPage: true });
    await dm.waitForFunction(() => (window.__bardcast?.level() ?? 0) > 0.05, undefined, { timeout: 10_000 });
    await dm.screenshot({ path: path.join(outDir, 'dm-console.png'), fullPage: true });
    process.stdout.write(
      `wrote ${path.join(outDir, 'listener.png')} and ${path.join(outDir, 'dm-console.png')}\n`,
    );
  } finally {
    await browser.close();
    await app.dispose();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `screenshots failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
