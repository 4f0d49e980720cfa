/**
 * The playback controls both pages share: the volume slider (remembered per
 * browser) and the level meter. Starting audio is the page's business
 * because it must happen inside a user gesture.
 */
import type { Station } from './station';
import { byId } from './ui';

const VOLUME_KEY = 'bardcast.volume';

/** Reads the remembered volume (0..100). */
function storedVolume(): number {
  try {
    const v = Number(localStorage.getItem(VOLUME_KEY));
    return localStorage.getItem(VOLUME_KEY) !== null && Number.isFinite(v)
      ? Math.min(100, Math.max(0, v))
      : 80;
  } catch {
    return 80; // storage disabled
  }
}

/** Wires `#volume` and `#level-bar` to the station's audio output. */
export function bindPlayerControls(station: Station): { applyVolume(): void } {
  const volume = byId<HTMLInputElement>('volume');
  const volumeValue = byId('volume-value');
  const levelBar = byId('level-bar');
  volume.value = String(storedVolume());

  const applyVolume = () => {
    const v = Number(volume.value);
    volumeValue.textContent = `${v}%`;
    station.audio?.setVolume(v / 100);
  };
  volume.addEventListener('input', () => {
    applyVolume();
    try {
      localStorage.setItem(VOLUME_KEY, volume.value);
    } catch {
      // storage disabled: the slider still works for this visit
    }
  });
  applyVolume();

  const meter = () => {
    const level = station.audio?.level() ?? 0;
    // Speech RMS sits around 0.05–0.2; scale so it fills the bar.
    levelBar.style.transform = `scaleX(${Math.min(1, level * 5).toFixed(3)})`;
    requestAnimationFrame(meter);
  };
  requestAnimationFrame(meter);
  return { applyVolume };
}
