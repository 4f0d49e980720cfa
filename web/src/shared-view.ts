/** Rendering of the elements both pages have: connection state and now playing. */
import { connectionLabel, formatSeconds, truncate, truncateStart } from './format';
import type { StationView } from './station';
import { byId, setData, setText } from './ui';
import { ConnectionStatus } from './ws-client';

/** `#connection`, the superseded notice and its button, a refused link's reason, and `body[data-audio]`. */
export function renderConnection(view: StationView): void {
  const connection = byId('connection');
  setData(connection, 'state', view.connection);
  setText(connection, connectionLabel(view.connection));
  // The server's own words: the page stops retrying, so it must say why.
  const fatal = byId('fatal');
  if (view.refusal !== null) {
    setText(fatal, `${view.refusal} This page will not retry.`);
    fatal.hidden = false;
  } else if (view.connection === ConnectionStatus.Live) {
    fatal.hidden = true;
  }
  const superseded = view.connection === ConnectionStatus.Superseded;
  byId('reconnect-button').hidden = !superseded;
  byId('superseded').hidden = !superseded;
  setData(document.body, 'audio', view.audio);
}

/** `#now-request`, `#now-playing[data-on-air]`, `#caption` and `#position`. */
export function renderNowPlaying(view: StationView, options: { pausedText: string; maxChars: number }): void {
  const nowRequest = byId('now-request');
  if (view.paused) setText(nowRequest, options.pausedText);
  else if (view.onAir) {
    const text = view.onAir.text ?? 'Narration';
    // What aired so far grows at its end: keep the latest sentences in view.
    setText(
      nowRequest,
      view.onAir.spoken ? truncateStart(text, options.maxChars) : truncate(text, options.maxChars),
    );
  } else setText(nowRequest, 'Nothing on air');
  setData(byId('now-playing'), 'onAir', String(Boolean(view.onAir)));
  setText(byId('caption'), view.caption?.text ?? '');
  setText(byId('position'), view.onAir ? formatSeconds(view.stationPositionSec) : '');
}
