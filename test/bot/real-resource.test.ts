import { PassThrough } from 'node:stream';
import { AudioPlayerStatus, StreamType, createAudioResource } from '@discordjs/voice';
import { describe, expect, it } from 'vitest';
import { DiscordVoiceAdapter, OggOpusJoiner } from '../../src/bot/voice';
import { silentLogger } from '../../src/log';
import { opusPacketInfo, scanOggOpus } from '../../src/media';
import { FfmpegAudioEncoder, resolveFfmpeg } from '../../src/narration/encoder';
import { oggOpusOf, packetCount } from './support/opus';

/** `ms` of a 440 Hz tone, 48 kHz mono s16le. */
function tone(ms: number): Buffer {
  const n = Math.round(ms * 48);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    out.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48_000)), i * 2);
  return out;
}

describe('real encoder output through the real @discordjs/voice resource', () => {
  it('one AudioResource reads every packet of two ffmpeg-encoded chunks back to back', async () => {
    const encoder = new FfmpegAudioEncoder({ ffmpegPath: resolveFfmpeg().path });
    const chunks = await Promise.all(
      [700, 1300].map((ms) => encoder.encode({ data: tone(ms), format: 'pcm_s16le', sampleRate: 48_000 })),
    );
    const expected = chunks.reduce((sum, c) => sum + (scanOggOpus(c.opus)?.packetCount ?? 0), 0);
    expect(expected).toBeGreaterThan(90);

    const stream = new PassThrough();
    const resource = createAudioResource(stream, { inputType: StreamType.OggOpus });
    const joiner = new OggOpusJoiner();
    for (const c of chunks) stream.write(joiner.append(c.opus).bytes);
    stream.end();

    const packets: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      resource.playStream.on('error', reject);
      resource.playStream.on('end', resolve);
      resource.playStream.on('readable', () => {
        for (let p = resource.read(); p; p = resource.read()) packets.push(p);
      });
    });
    expect(packets.length).toBe(expected);
    // 20 ms Opus frames throughout: the player's one-packet-per-20-ms clock stays exact.
    expect(packets.every((p) => opusPacketInfo(p).samples === 960)).toBe(true);
  });
});

describe('the real AudioPlayer (no connection) on a joined stream', () => {
  it('plays two chunks with an underrun between them as one resource: never Idle until the stream ends', async () => {
    // createPlayer/createResource don't touch the client.
    const adapter = new DiscordVoiceAdapter({} as never, { group: 'test', log: silentLogger });
    const player = adapter.createPlayer();
    const stream = new PassThrough();
    const joiner = new OggOpusJoiner();
    const seen: string[] = [];
    player.on('stateChange', (o, n) => seen.push(`${o.status}→${n.status}`));
    stream.write(joiner.append(oggOpusOf(200, 1)).bytes);
    player.play(adapter.createResource(stream));
    await new Promise((r) => setTimeout(r, 450)); // chunk 1 (~220 ms) is over: an underrun
    expect(player.state.status).toBe(AudioPlayerStatus.Playing);
    stream.end(joiner.append(oggOpusOf(200, 2)).bytes);
    const started = Date.now();
    await new Promise<void>((resolve) =>
      player.on('stateChange', (_o, n) => n.status === AudioPlayerStatus.Idle && resolve()),
    );
    // chunk 2's packets plus the 5 trailing silence frames, at 20 ms each
    expect(Date.now() - started).toBeGreaterThanOrEqual((packetCount(200) + 5) * 20 - 60);
    expect(seen).toEqual(['idle→buffering', 'buffering→playing', 'playing→idle']);
  });
});
