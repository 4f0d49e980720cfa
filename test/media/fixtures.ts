/** Audio built in code and encoded with the real ffmpeg, for the media and encoder tests. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveFfmpeg } from '../../src/narration/encoder';

export const ffmpeg = resolveFfmpeg();

/** 16-bit PCM samples of a sine (with a little vibrato so encoders work a bit). */
export function sinePcm(seconds: number, sampleRate: number, channels = 1, freq = 440): Buffer {
  const frames = Math.round(seconds * sampleRate);
  const pcm = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const v = Math.round(12_000 * Math.sin(2 * Math.PI * (freq + 30 * Math.sin(2 * Math.PI * 3 * t)) * t));
    for (let c = 0; c < channels; c++) pcm.writeInt16LE(v, (i * channels + c) * 2);
  }
  return pcm;
}

/** A canonical 44-byte-header WAV around {@link sinePcm}. */
export function sineWav(seconds: number, sampleRate = 24_000, channels = 1, freq = 440): Buffer {
  const data = sinePcm(seconds, sampleRate, channels, freq);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Runs ffmpeg synchronously with `stdin`; returns stdout, throws with stderr on failure. */
export function runFfmpeg(args: string[], stdin?: Uint8Array): Buffer {
  const result = spawnSync(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', ...args], {
    input: stdin ?? Buffer.alloc(0),
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr.toString()}`);
  return result.stdout;
}

/**
 * Encodes a WAV to an MP3 file (a seekable output, so ffmpeg writes the
 * Xing/LAME frame) and returns its bytes, ffmpeg's own ID3v2 tag first.
 * `codecArgs` picks CBR or VBR.
 */
export function encodeMp3(wav: Buffer, codecArgs: string[], sampleRate = 48_000): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'bardcast-test-'));
  try {
    const out = join(dir, 'out.mp3');
    const rate = String(sampleRate);
    runFfmpeg(
      ['-f', 'wav', '-i', 'pipe:0', '-ac', '1', '-ar', rate, '-c:a', 'libmp3lame', ...codecArgs, out],
      wav,
    );
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Decodes MP3 bytes with ffmpeg; returns mono 16-bit samples. Reads from a
 * file: on a pipe, ffmpeg 4.1 trims the LAME delay but not the padding.
 */
export function decodeMp3(mp3: Uint8Array): Int16Array {
  const dir = mkdtempSync(join(tmpdir(), 'bardcast-test-'));
  try {
    const file = join(dir, 'in.mp3');
    writeFileSync(file, mp3);
    const pcm = runFfmpeg(['-f', 'mp3', '-i', file, '-f', 's16le', '-ac', '1', '-']);
    return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A minimal ID3v2.4 tag whose body contains bytes that look like an MPEG sync word. */
export function id3Tag(bodySize = 300): Buffer {
  const body = Buffer.alloc(bodySize, 0);
  body.write('TIT2', 0, 'latin1');
  for (let i = 20; i + 4 < bodySize; i += 50) body.set([0xff, 0xfb, 0x54, 0xc4], i);
  const header = Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0]);
  header[6] = (bodySize >> 21) & 0x7f;
  header[7] = (bodySize >> 14) & 0x7f;
  header[8] = (bodySize >> 7) & 0x7f;
  header[9] = bodySize & 0x7f;
  return Buffer.concat([header, body]);
}
