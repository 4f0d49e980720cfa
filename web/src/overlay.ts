/**
 * Caption overlay for streaming software: `/overlay/{campaign}?token=…`.
 * Silent: it follows the station clock like the listener page (no audio of
 * its own; the stream's sound comes from Discord or the live MP3) and shows
 * only the sentence being spoken. A player token shows only what has aired.
 */
import './overlay.css';
import { bootPage } from './boot';
import { overlayCssVariables, readOverlayStyle } from './overlay-style';
import type { StationView } from './station';
import { byId, setData, setText } from './ui';

function main(): void {
  const style = readOverlayStyle(location.search);
  for (const [name, value] of Object.entries(overlayCssVariables(style))) {
    document.documentElement.style.setProperty(name, value);
  }
  const booted = bootPage('overlay', (error) => (error instanceof Error ? error.message : String(error)));
  if (!booted) {
    byId('fatal').hidden = false;
    return;
  }
  const { station } = booted;
  const render = (view: StationView): void => {
    const caption = byId('caption');
    const text = view.paused ? '' : (view.caption?.text ?? '');
    setText(caption, text);
    setData(caption, 'empty', String(text === ''));
  };
  station.on('change', render);
  station.start();
  render(station.view());
}

main();
