/**
 * Where the fast start cuts, and how the cut sounds. `npx tsx bench/cuts.ts`
 * (needs sox). Prints the first chunks of 20 sample narrations with the kind
 * of each cut (clause, phrase, sentence), then, for the first 12, speaks the
 * first two chunks and the whole first sentence with flite and measures with
 * sox the silence at the cut (the end of chunk 1 plus the start of chunk 2,
 * below -45 dBFS) against the pauses flite itself makes inside the whole
 * sentence (silent stretches of 60 ms or more, in 10 ms windows).
 *
 * Then the first-chunk guess (src/narration/first-guess.ts) on all 20, each
 * streamed in the fake LLM's tokens at the bench's 30 tokens/s: whether the
 * first guess spoken was the chunk the splitter cut, how many TTS calls went
 * on wrong guesses, and how much earlier the first chunk's speech started
 * than it would once the cut is certain.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fakeTokenize } from '../src/narration/fake-openai-server';
import { FirstChunkGuess } from '../src/narration/first-guess';
import { createSentenceSplitter, splitSentences } from '../src/narration/splitter';
import { FliteTtsProvider } from '../src/narration/tts';
import type { TtsProvider } from '../src/narration/tts/types';

const samples = [
  'The door of the Gilded Flagon swings open on a wall of warmth and noise. Pipe smoke curls beneath the low beams.',
  'The path narrows until the trees close over it like the roof of a cathedral. Moss swallows the sound of your steps.',
  'The torchlight gutters as you step past the threshold, and the smell of old stone rises to meet you. Somewhere below, water drips.',
  'A shadow passes over the valley, and for a heartbeat the sun goes out. The wind that follows smells of brimstone.',
  'The deck rolls beneath your boots as the ship climbs another grey wave. Salt spray stings your eyes.',
  'The market square of Vellmoor hums with haggling voices and the clatter of carts. A spice seller waves.',
  'Beneath the shattered vault of the old observatory, where the brass telescopes have long since rusted, you find the astronomer waiting.',
  'You push open the heavy oak door and step into a hall lit by a hundred guttering candles.',
  'Rain hammers against the shutters while the old priest lights the last of the altar candles.',
  'Three riders crest the hill behind you, their cloaks snapping in the wind like black flags.',
  'The goblin chieftain rises from his throne of bones and points a crooked finger at your party.',
  'Deep in the mine, the lantern flickers and the sound of picks stops all at once.',
  '"You should not have come here," the witch whispers, stirring the black water of her cauldron.',
  'Silence falls across the battlefield as the last of the orcs flee into the trees.',
  'At dawn the caravan sets out from the city gates toward the distant blue mountains of Karth.',
  'Somewhere in the fog a bell tolls twice, and the ferryman raises his lantern toward the sound.',
  'Your blade bites deep into the troll, but the wound closes almost as quickly as you made it.',
  'The queen regards you from her high seat with an expression you cannot read.',
  'Dust drifts down from the ceiling with every step the giant takes above you.',
  'An old map lies unrolled on the table, its corners pinned by daggers and a half-eaten apple.',
];
const kind = (chunk: string, next: string | undefined): string => {
  if (!next) return 'end';
  if (/[,;:—–]$/.test(chunk)) return 'clause';
  if (/[.!?…]["'”’)]*$/.test(chunk)) return 'sentence';
  return `phrase(${next.split(' ')[0]})`;
};
const dir = mkdtempSync(path.join(tmpdir(), 'cuts-'));
const sox = (args: string[]) =>
  execFileSync('sox', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** Leading silence (s) of a wav: below -45 dBFS. */
function lead(file: string): number {
  const total = Number(execFileSync('soxi', ['-D', file], { encoding: 'utf8' }));
  const trimmed = path.join(dir, 'trim.wav');
  sox([file, trimmed, 'silence', '1', '0.005', '-45d']);
  return total - Number(execFileSync('soxi', ['-D', trimmed], { encoding: 'utf8' }));
}
function trail(file: string): number {
  const rev = path.join(dir, 'rev.wav');
  sox([file, rev, 'reverse']);
  return lead(rev);
}
/** Silent stretches ≥ 60 ms inside a wav (start s, length s), from sox's stat per 10 ms windows. */
function pauses(file: string): number[] {
  const raw = execFileSync(
    'sox',
    [file, '-t', 'raw', '-e', 'signed', '-b', '16', '-c', '1', '-r', '16000', '-'],
    { maxBuffer: 1 << 26 },
  );
  const win = 160;
  const out: number[] = [];
  let run = 0;
  let started = false;
  for (let i = 0; i + win * 2 <= raw.length; i += win * 2) {
    let peak = 0;
    for (let k = 0; k < win; k++) peak = Math.max(peak, Math.abs(raw.readInt16LE(i + k * 2)));
    const silent = peak < 32768 * 0.0056; // -45 dBFS
    if (!silent) {
      if (started && run >= 6) out.push(run * 10);
      run = 0;
      started = true;
    } else if (started) run++;
  }
  return out;
}
const flite = new FliteTtsProvider();
const rows: string[] = [];
const gaps: number[] = [];
const inner: number[] = [];
for (const [i, text] of samples.entries()) {
  const chunks = splitSentences(text);
  rows.push(
    `${i + 1}. ${chunks
      .slice(0, 3)
      .map((c, k) => `[${c}] ${kind(c, chunks[k + 1])}`)
      .join(' ')}`,
  );
  if (i >= 12) continue;
  const sentence1 = splitSentences(text, { firstMaxChars: 220, secondMaxChars: 220 })[0] as string;
  const [c1, c2] = chunks;
  if (!c1 || !c2 || sentence1 === c1) continue;
  const files = await Promise.all(
    [c1, c2, sentence1].map(async (t, k) => {
      const f = path.join(dir, `${i}-${k}.wav`);
      writeFileSync(f, (await flite.synthesize({ text: t })).data);
      return f;
    }),
  );
  const gap = trail(files[0] as string) + lead(files[1] as string);
  gaps.push(gap * 1000);
  const p = pauses(files[2] as string);
  inner.push(...p);
  rows.push(
    `   cut gap ${(gap * 1000).toFixed(0)} ms (tail ${(trail(files[0] as string) * 1000).toFixed(0)} + head ${(lead(files[1] as string) * 1000).toFixed(0)}); pauses flite makes inside the whole sentence: ${p.join(', ') || 'none'} ms`,
  );
}
await flite.close();
console.log(rows.join('\n'));
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
console.log(
  'cut gaps',
  sorted(gaps)
    .map((g) => g.toFixed(0))
    .join(' '),
  '| inner pauses',
  sorted(inner).join(' '),
);

/** The guess on one text streamed token by token: TTS calls started (time in tokens) and the certain first chunk. */
function guessOn(text: string): { hit: boolean; wasted: number; leadTokens: number; first: string } {
  const calls: Array<{ text: string; token: number; aborted: boolean }> = [];
  let token = 0;
  const tts = {
    synthesize: ({ text: t, signal }: { text: string; signal?: AbortSignal }) => {
      const call = { text: t, token, aborted: false };
      calls.push(call);
      signal?.addEventListener('abort', () => (call.aborted = true));
      return new Promise(() => {});
    },
  } as unknown as TtsProvider;
  const guess = new FirstChunkGuess({ tts, voice: 'v', signal: new AbortController().signal });
  const splitter = createSentenceSplitter();
  let first: string | undefined;
  for (const delta of fakeTokenize(text)) {
    first = splitter.push(delta)[0];
    if (first !== undefined) break;
    const tentative = splitter.tentativeFirst();
    guess.offer(tentative === null ? null : { speaker: null, text: tentative });
    token++;
  }
  first ??= splitter.flush()[0] ?? '';
  const taken = guess.take({ speaker: null, text: first }) !== null;
  const spoken = calls.find((c) => !c.aborted);
  return {
    hit: taken,
    wasted: calls.filter((c) => c.aborted).length,
    leadTokens: taken && spoken ? token - spoken.token : 0,
    first,
  };
}
const MS_PER_TOKEN = 1000 / 30;
const guesses = samples.map(guessOn);
console.log('\nFirst-chunk guess, streamed in the fake LLM tokens (30 tokens/s):');
guesses.forEach((g, i) =>
  console.log(
    `${i + 1}. ${g.hit ? `came true, ${Math.round(g.leadTokens * MS_PER_TOKEN)} ms early` : 'no guess taken'}` +
      `${g.wasted ? `, ${g.wasted} TTS call(s) on a wrong guess` : ''}: [${g.first}]`,
  ),
);
const leads = guesses.filter((g) => g.hit).map((g) => Math.round(g.leadTokens * MS_PER_TOKEN));
console.log(
  `guess came true ${leads.length}/${guesses.length}; lead ${sorted(leads).join(' ')} ms; ` +
    `TTS calls on wrong guesses ${guesses.reduce((n, g) => n + g.wasted, 0)} in ${guesses.length} narrations`,
);
