// Counts the audio an MP3 byte stream carries, frame by frame, reading only
// frame headers (cheap enough for thousands of listeners in one process).
// Resynchronises on garbage or a stream that starts mid-frame.

const BITRATES_V1_L3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2_L3 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};

/** Length in bytes and duration in seconds of the Layer III frame whose header is `h`, or null. */
function frameOf(h: number): { length: number; seconds: number } | null {
  if (h >>> 21 !== 0x7ff) return null;
  const version = (h >>> 19) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = (h >>> 17) & 3; // 1: Layer III
  const bitrateIndex = (h >>> 12) & 15;
  const rateIndex = (h >>> 10) & 3;
  if (version === 1 || layer !== 1 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3)
    return null;
  const rate = RATES[version]![rateIndex]!;
  const padding = (h >>> 9) & 1;
  const v1 = version === 3;
  const kbps = (v1 ? BITRATES_V1_L3 : BITRATES_V2_L3)[bitrateIndex]!;
  const samples = v1 ? 1152 : 576;
  const length = Math.floor(((samples / 8) * kbps * 1000) / rate) + padding;
  return { length, seconds: samples / rate };
}

/** Audio seconds received so far on one MP3 stream. */
export class Mp3Counter {
  seconds = 0;
  frames = 0;
  bytes = 0;
  /** Bytes still to skip of the frame in progress. */
  #skip = 0;
  /** Header bytes carried over from the previous piece. */
  #carry: number[] = [];

  push(data: Uint8Array): void {
    this.bytes += data.length;
    let i = 0;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, data.length);
      this.#skip -= n;
      i = n;
    }
    while (i < data.length) {
      // Assemble a 4-byte header, possibly across pieces.
      while (this.#carry.length < 4 && i < data.length) this.#carry.push(data[i++]!);
      if (this.#carry.length < 4) return;
      const [a, b, c, d] = this.#carry as [number, number, number, number];
      const frame = frameOf(((a << 24) | (b << 16) | (c << 8) | d) >>> 0);
      if (!frame) {
        this.#carry.shift(); // resync one byte on
        continue;
      }
      this.#carry = [];
      this.frames++;
      this.seconds += frame.seconds;
      const rest = frame.length - 4;
      const n = Math.min(rest, data.length - i);
      i += n;
      this.#skip = rest - n;
    }
  }
}
