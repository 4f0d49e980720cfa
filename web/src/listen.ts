/** Listener page: `/listen/{campaign}?token=…`. */
import './style.css';
import { bootPage } from './boot';
import { bindPlayerControls } from './player-ui';
import { renderConnection, renderNowPlaying } from './shared-view';
import type { StationView } from './station';
import { byId, renderRequests, setText } from './ui';

function main(): void {
  const booted = bootPage('listen', (error) => (error instanceof Error ? error.message : String(error)));
  if (!booted) return;
  const { station } = booted;
  const controls = bindPlayerControls(station);

  const startButton = byId<HTMLButtonElement>('start-button');
  startButton.disabled = false;
  startButton.addEventListener('click', () => {
    startButton.disabled = true;
    station
      .startAudio()
      .then(() => controls.applyVolume())
      .catch((error: unknown) => {
        audioError = `Audio could not start: ${String(error)}`;
        render(station.view());
      })
      .finally(() => {
        startButton.disabled = false;
      });
  });

  byId('reconnect-button').addEventListener('click', () => station.start());
  station.on('change', (view) => render(view));
  station.start();
  render(station.view());
}

/** An error of this page itself (the station reports its own in the view). */
let audioError: string | null = null;

function render(view: StationView): void {
  renderConnection(view);
  const startPanel = byId('start-panel');
  startPanel.hidden = view.audio === 'running';
  setText(byId('start-button'), view.audio === 'suspended' ? 'Tap to resume' : 'Tap to start listening');
  renderNowPlaying(view, { pausedText: 'Paused by the DM', maxChars: 200 });

  renderRequests(byId('queue'), view.pending);
  byId('queue-empty').hidden = view.pending.length > 0;
  setText(byId('error'), audioError ?? view.lastError ?? '');
}

main();
