/** Test data shared by the web client tests. */
import { makeSilenceFrame } from '../../src/media/mp3';

/**
 * A tiny MP3 built by hand: an ID3v2 tag, an Info frame carrying a LAME tag
 * with `delay`/`padding`, then `frames` silence frames (mono).
 */
export function mp3WithLameTag(sampleRate: number, delay: number, padding: number, frames = 3): Uint8Array {
  const mpeg1 = sampleRate >= 32000;
  const silence = makeSilenceFrame({ sampleRate, channels: 1, bitrateKbps: mpeg1 ? 64 : 32 });
  const info = silence.slice();
  let p = 4 + (mpeg1 ? 17 : 9); // header + mono side info
  info.set(new TextEncoder().encode('Info'), p);
  p += 8; // id + flags (none: no frame count, bytes, TOC or quality)
  info.set(new TextEncoder().encode('LAME3.100'), p);
  info[p + 21] = delay >> 4;
  info[p + 22] = ((delay & 0xf) << 4) | (padding >> 8);
  info[p + 23] = padding & 0xff;
  const id3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 2, 0, 0]);
  const out = new Uint8Array(id3.length + info.length * (frames + 1));
  out.set(id3, 0);
  out.set(info, id3.length);
  for (let i = 1; i <= frames; i++) out.set(silence, id3.length + info.length * i);
  return out;
}
