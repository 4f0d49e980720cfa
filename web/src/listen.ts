/** Listener page: `/listen/{campaign}?token=…`. */
import './style.css';
import { bootPage } from './boot';
import { connectionLabel, formatSeconds, truncate } from './format';
import { bindPlayerControls } from './player-ui';
import type { StationView } from './station';
import { byId, renderRequests, setData, setText } from './ui';
import { ConnectionStatus } from './ws-client';

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
  const connection = byId('connection');
  setData(connection, 'state', view.connection);
  setText(connection, connectionLabel(view.connection));
  const superseded = view.connection === ConnectionStatus.Superseded;
  byId('reconnect-button').hidden = !superseded;
  byId('superseded').hidden = !superseded;

  const startPanel = byId('start-panel');
  startPanel.hidden = view.audio === 'running';
  setText(byId('start-button'), view.audio === 'suspended' ? 'Tap to resume' : 'Tap to start listening');
  setData(document.body, 'audio', view.audio);

  const nowRequest = byId('now-request');
  if (view.paused) setText(nowRequest, 'Paused by the DM');
  else if (view.onAir) setText(nowRequest, truncate(view.onAir.text ?? 'Narration', 200));
  else setText(nowRequest, 'Nothing on air');
  setData(byId('now-playing'), 'onAir', String(Boolean(view.onAir)));

  setText(byId('caption'), view.caption?.text ?? '');
  setText(byId('position'), view.onAir ? formatSeconds(view.stationPositionSec) : '');

  renderRequests(byId('queue'), view.pending);
  byId('queue-empty').hidden = view.pending.length > 0;
  setText(byId('error'), audioError ?? view.lastError ?? '');
}

main();
