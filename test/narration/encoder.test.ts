import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  mainDataBegin,
  parseFrameHeader,
  readLameGapless,
  scanMp3,
  stripInfoFrame,
} from '../../src/media/mp3';
import { iterateOggPages, scanOggOpus } from '../../src/media/ogg';
import {
  EncoderError,
  FfmpegAudioEncoder,
  FfmpegNotFoundError,
  checkFfmpeg,
  prepareEncoderTempDir,
  resolveFfmpeg,
} from '../../src/narration/encoder';
import { decodeMp3, encodeMp3, ffmpeg, sinePcm, sineWav } from '../media/fixtures';

const OPUS_FRAME = 960; // 20 ms at 48 kHz
const scratch = mkdtempSync(join(tmpdir(), 'bardcast-encoder-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tmpDir(): string {
  return mkdtempSync(join(scratch, 'run-'));
}

describe('resolveFfmpeg', () => {
  it('finds the binary shipped in @ffmpeg-installer/ffmpeg by default', () => {
    expect(resolveFfmpeg()).toMatchObject({ source: '@ffmpeg-installer/ffmpeg' });
    expect(ffmpeg.path).toContain('@ffmpeg-installer');
  });

  it('prefers an explicit path, and fails naming FFMPEG_PATH when that path is wrong', () => {
    expect(resolveFfmpeg({ ffmpegPath: ffmpeg.path })).toEqual({ path: ffmpeg.path, source: 'FFMPEG_PATH' });
    expect(() => resolveFfmpeg({ ffmpegPath: join(scratch, 'nope') })).toThrow(/FFMPEG_PATH/);
  });

  it('falls back to ffmpeg-static, then PATH, then explains how to fix it', () => {
    const only = (name: string) => (requested: string) => {
      if (requested === name) return { default: ffmpeg.path };
      throw new Error(`Cannot find module '${requested}'`);
    };
    expect(resolveFfmpeg({ loadModule: only('ffmpeg-static') })).toEqual({
      path: ffmpeg.path,
      source: 'ffmpeg-static',
    });
    const none = only('nothing');
    const attempt = () => resolveFfmpeg({ loadModule: none, pathCommand: 'bardcast-no-such-ffmpeg' });
    expect(attempt).toThrow(FfmpegNotFoundError);
    expect(attempt).toThrow(/FFMPEG_PATH/);
  });
});

describe('checkFfmpeg', () => {
  it('returns the version line of a binary with libopus and libmp3lame', async () => {
    expect(await checkFfmpeg(ffmpeg.path)).toMatch(/^ffmpeg version/);
  });

  it('names the encoders a binary lacks', async () => {
    const fake = join(scratch, 'fake-ffmpeg');
    writeFileSync(fake, '#!/bin/sh\necho " A..... libopus  libopus Opus"\n');
    chmodSync(fake, 0o755);
    await expect(checkFfmpeg(fake)).rejects.toThrow(/lacks encoders: libmp3lame/);
  });
});

describe('FfmpegAudioEncoder', () => {
  const encoder = new FfmpegAudioEncoder({ ffmpegPath: ffmpeg.path, tmpDir: scratch });

  for (const seconds of [0.5, 1.7, 3]) {
    it(`encodes ${seconds} s of WAV to Opus and MP3 with exact, agreeing lengths`, async () => {
      const out = await encoder.encode({ data: sineWav(seconds), format: 'wav' });
      const ogg = scanOggOpus(out.opus)!;
      const mp3 = scanMp3(out.mp3);
      const expected = seconds * 48_000;
      // Required: within one Opus frame. Seen with ffmpeg 4.1: exact to the sample.
      expect(Math.abs(out.sampleCount - expected)).toBeLessThanOrEqual(OPUS_FRAME);
      expect(out.sampleCount).toBe(expected);
      expect(out.sampleCount).toBe(ogg.playableSamples);
      expect(out.durationMs).toBe(out.sampleCount / 48);
      // Opus and MP3 come from the same PCM: the playable lengths agree exactly here.
      expect(mp3.playableSamples - ogg.playableSamples).toBe(0);
      expect(out.mp3FrameCount).toBe(mp3.frames.length);
      expect(decodeMp3(out.mp3).length).toBe(mp3.playableSamples);
      // Discord's demuxer reads these pages as they are.
      expect(ogg.head).toMatchObject({ channels: 1 });
      expect([...iterateOggPages(out.opus)].reduce((n, p) => n + p.length, 0)).toBe(out.opus.length);
    });
  }

  it('writes 48 kHz mono CBR MP3 with a LAME tag, no ID3, and self-contained frames', async () => {
    const out = await encoder.encode({ data: sineWav(1), format: 'wav' });
    const scan = scanMp3(out.mp3);
    expect(scan).toMatchObject({ sampleRate: 48_000, channels: 1, bitrateKbps: 64, hasLameTag: true });
    expect(scan.infoFrame?.offset).toBe(0);
    expect(readLameGapless(out.mp3)?.encoderDelay).toBe(576);
    for (const frame of scan.frames) {
      const header = parseFrameHeader(out.mp3, frame.offset)!;
      expect(header.bitrateKbps).toBe(64);
      expect(mainDataBegin(out.mp3, frame.offset, header)).toBe(0); // no bit reservoir: cuttable anywhere
    }
    expect(scanMp3(stripInfoFrame(out.mp3)).frames).toHaveLength(scan.frames.length);
    expect(encoder.mp3Params).toEqual({ sampleRate: 48_000, channels: 1, bitrateKbps: 64 });
  });

  it('gives the same timing with one process and two outputs', async () => {
    const single = new FfmpegAudioEncoder({ ffmpegPath: ffmpeg.path, processes: 'single', tmpDir: scratch });
    const wav = sineWav(1.3);
    const [a, b] = await Promise.all([
      single.encode({ data: wav, format: 'wav' }),
      encoder.encode({ data: wav, format: 'wav' }),
    ]);
    expect(a.sampleCount).toBe(b.sampleCount);
    expect(a.mp3).toEqual(b.mp3);
  });

  it('accepts raw PCM (any rate, stereo) and MP3 input', async () => {
    const pcm = await encoder.encode({
      data: sinePcm(1.2, 22_050, 2),
      format: 'pcm_s16le',
      sampleRate: 22_050,
      channels: 2,
    });
    expect(Math.abs(pcm.sampleCount - 1.2 * 48_000)).toBeLessThanOrEqual(OPUS_FRAME);
    const mp3In = encodeMp3(sineWav(2, 24_000), ['-q:a', '2'], 24_000);
    const fromMp3 = await encoder.encode({ data: mp3In, format: 'mp3' });
    expect(Math.abs(fromMp3.sampleCount - 2 * 48_000)).toBeLessThanOrEqual(OPUS_FRAME);
  });

  it('rejects bad input with a typed error carrying ffmpeg stderr', async () => {
    await expect(encoder.encode({ data: Buffer.alloc(0), format: 'wav' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    await expect(encoder.encode({ data: sinePcm(0.1, 8000), format: 'pcm_s16le' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    const garbage = encoder.encode({ data: Buffer.from('this is not a wav file at all'), format: 'wav' });
    await expect(garbage).rejects.toBeInstanceOf(EncoderError);
    const error = (await garbage.catch((e: unknown) => e)) as EncoderError;
    expect(error.code).toBe('FFMPEG_FAILED');
    expect(error.stderrTail.length).toBeGreaterThan(0);
    const missing = new FfmpegAudioEncoder({ ffmpegPath: join(scratch, 'no-ffmpeg') });
    await expect(missing.encode({ data: sineWav(0.2), format: 'wav' })).rejects.toMatchObject({
      code: 'SPAWN_FAILED',
    });
  });

  it('kills ffmpeg on abort and leaves no temporary files', async () => {
    const dir = tmpDir();
    const slow = new FfmpegAudioEncoder({ ffmpegPath: ffmpeg.path, tmpDir: dir });
    const controller = new AbortController();
    const long = sineWav(120, 48_000);
    const pending = slow.encode({ data: long, format: 'wav' }, controller.signal);
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort(new Error('skipped'));
    }, 30);
    // An encode that had finished would resolve; rejecting with ABORTED means ffmpeg was stopped mid-way.
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    // Generous bound: the machine is shared, but SIGKILL is not slow.
    expect(performance.now() - abortedAt).toBeLessThan(3000);
    expect(readdirSync(dir)).toEqual([]);
    const pre = new AbortController();
    pre.abort();
    await expect(slow.encode({ data: sineWav(0.2), format: 'wav' }, pre.signal)).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('at start-up, removes the temporary files a killed process left in its folder, and nothing else', async () => {
    const dir = join(tmpDir(), 'tmp');
    expect(await prepareEncoderTempDir(dir)).toBe(0); // made if missing
    writeFileSync(join(dir, 'bardcast-0b5e7c1e-2f0a-4c55-9e0f-1a2b3c4d5e6f.mp3'), 'half an mp3');
    writeFileSync(join(dir, 'bardcast-0b5e7c1e-2f0a-4c55-9e0f-1a2b3c4d5e6f-in.mp3'), 'input');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    expect(await prepareEncoderTempDir(dir)).toBe(2);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    const encoder = new FfmpegAudioEncoder({ ffmpegPath: ffmpeg.path, tmpDir: dir });
    await encoder.encode({ data: sineWav(0.3), format: 'wav' });
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('times out a hung ffmpeg', async () => {
    const hung = join(scratch, 'hung-ffmpeg');
    writeFileSync(hung, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(hung, 0o755);
    const enc = new FfmpegAudioEncoder({ ffmpegPath: hung, timeoutMs: 100, tmpDir: tmpDir() });
    await expect(enc.encode({ data: sineWav(0.2), format: 'wav' })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
  });
});
