/**
 * Real audio for the web tests: chunks encoded by the project's own encoder
 * (FfmpegAudioEncoder: 48 kHz mono CBR MP3 + Ogg Opus), VBR MP3 straight from
 * ffmpeg, and a decoder that counts PCM samples.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanMp3 } from '../../../src/media';
import { FfmpegAudioEncoder, resolveFfmpeg } from '../../../src/narration/encoder';
import type { EncodedAudio } from '../../../src/playback';

export const ffmpegPath = resolveFfmpeg().path;
const encoder = new FfmpegAudioEncoder({ ffmpegPath });

/** 16-bit mono PCM of a sine with a little vibrato (so every frame carries different data). */
export function sinePcm(durationMs: number, sampleRate = 48_000, freq = 440): Buffer {
  const n = Math.round((durationMs / 1000) * sampleRate);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    pcm.writeInt16LE(
      Math.round(10_000 * Math.sin(2 * Math.PI * (freq + 40 * Math.sin(2 * Math.PI * 5 * t)) * t)),
      i * 2,
    );
  }
  return pcm;
}

const cache = new Map<string, Promise<EncodedAudio>>();

/** A tone of `durationMs` encoded like a real chunk (cached per duration and pitch). */
export function toneAudio(durationMs: number, freq = 440): Promise<EncodedAudio> {
  const key = `${durationMs}/${freq}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = encoder.encode({
      data: sinePcm(durationMs, 48_000, freq),
      format: 'pcm_s16le',
      sampleRate: 48_000,
    });
    cache.set(key, hit);
  }
  return hit;
}

/**
 * A VBR MP3 chunk (LAME `-q:a`, Xing + LAME tag), wrapped as EncodedAudio with
 * its exact MP3 timing (the Opus part is the CBR encoder's, unused here).
 */
export async function vbrAudio(durationMs: number): Promise<EncodedAudio> {
  const base = await toneAudio(durationMs, 330);
  const dir = mkdtempSync(join(tmpdir(), 'bardcast-web-vbr-'));
  try {
    const out = join(dir, 'vbr.mp3');
    // A chirp: the bitrate has to vary for this to be VBR.
    const r = spawnSync(
      ffmpegPath,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        `aevalsrc=0.4*sin(2*PI*(200+900*t*t)*t)*(1+sin(7*t))/2:s=48000:d=${durationMs / 1000}`,
      ].concat([
        '-ac',
        '1',
        '-ar',
        '48000',
        '-c:a',
        'libmp3lame',
        '-q:a',
        '2',
        '-reservoir',
        '0',
        '-write_xing',
        '1',
        '-id3v2_version',
        '0',
        '-y',
        out,
      ]),
    );
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr.toString()}`);
    const mp3 = readFileSync(out);
    const scan = scanMp3(mp3);
    return {
      opus: base.opus,
      mp3,
      durationMs: (scan.playableSamples * 1000) / 48_000,
      sampleCount: scan.playableSamples,
      mp3FrameCount: scan.frames.length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Decodes MP3 bytes with ffmpeg to 48 kHz mono s16 and returns the sample count. */
export function decodedSamples(mp3: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'mp3',
      '-i',
      'pipe:0',
      '-f',
      's16le',
      '-ac',
      '1',
      '-ar',
      '48000',
      'pipe:1',
    ]);
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => {});
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(bytes / 2) : reject(new Error(`ffmpeg exited ${code}: ${stderr}`)),
    );
    child.stdin.end(mp3);
  });
}
