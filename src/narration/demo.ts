/**
 * Demo mode: with no API key, `/narrate` still works offline. A
 * {@link FakeOpenAiServer} runs in this process and answers the real LLM
 * client with scripted fantasy narration, picked by the prompt's words.
 */
import type { Logger } from '../log';
import { FakeOpenAiServer, type FakeChatMessage } from './fake-openai-server';

/** Scripted replies, each a short narration of a few sentences. */
export const DEMO_NARRATIONS: Readonly<Record<string, string>> = {
  tavern:
    'The door of the Gilded Flagon swings open on a wall of warmth and noise. ' +
    'Pipe smoke curls beneath the low beams, and a bard in the corner loses a fight with his lute. ' +
    'The innkeeper, a broad woman with flour on her sleeves, looks you over and nods toward an empty table. ' +
    'At the bar, a hooded figure sets down a tankard and turns, very slowly, to watch you.',
  forest:
    'The path narrows until the trees close over it like the roof of a cathedral. ' +
    'Moss swallows the sound of your steps, and the light turns green and dim. ' +
    'Somewhere ahead a branch snaps, sharp as a bowstring. ' +
    'Then the birds fall silent, all of them at once.',
  dungeon:
    'The torchlight gutters as you step past the threshold, and the smell of old stone rises to meet you. ' +
    'Water drips somewhere below in a slow and patient rhythm. ' +
    'Your lantern finds a stair spiralling down into the dark, its steps worn smooth by centuries of feet. ' +
    'A cold draught brushes your cheek, carrying a whisper you almost understand.',
  dragon:
    'A shadow passes over the valley, and for a heartbeat the sun goes out. ' +
    'The wind that follows smells of brimstone and hot iron. ' +
    'On the ridge above you, something vast settles its wings and lowers a head the size of a cart. ' +
    'Two amber eyes open, and they are looking straight at you.',
  sea:
    'The deck rolls beneath your boots as the ship climbs another grey wave. ' +
    'Salt spray stings your eyes, and the rigging sings in the rising wind. ' +
    'Far off the bow, a dark shape breaks the surface and slides back under. ' +
    'The captain lowers her spyglass and says nothing, which worries you more than any shout.',
  city:
    'The market square of Vellmoor hums with haggling voices and the clatter of carts. ' +
    'A spice seller waves a fistful of cinnamon under your nose, while a pickpocket drifts through the crowd like a minnow. ' +
    'Above the rooftops the bell of the old watchtower begins to ring, though it is not the hour. ' +
    'One by one, the merchants start to close their shutters.',
};

const KEYWORDS: ReadonlyArray<[string, RegExp]> = [
  ['tavern', /\b(tavern|inn|ale|bar|drink|bard)\b/i],
  ['forest', /\b(forest|wood|woods|tree|trees|grove|elf|elves)\b/i],
  ['dungeon', /\b(dungeon|crypt|cave|tomb|stair|stairs|ruin|ruins|undead)\b/i],
  ['dragon', /\b(dragon|wyrm|drake|mountain|fire)\b/i],
  ['sea', /\b(sea|ship|boat|ocean|sail|storm|harbou?r)\b/i],
  ['city', /\b(city|town|market|street|guard|guards|castle)\b/i],
];

/** The scripted narration for a prompt: by keyword, else a stable pick by the prompt's letters. */
export function demoNarrationFor(prompt: string): string {
  for (const [key, pattern] of KEYWORDS) if (pattern.test(prompt)) return DEMO_NARRATIONS[key] as string;
  const keys = Object.keys(DEMO_NARRATIONS);
  let hash = 0;
  for (const ch of prompt) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return DEMO_NARRATIONS[keys[hash % keys.length] as string] as string;
}

/** The demo LLM: a running fake server and how to reach it. */
export interface DemoLlmServer {
  server: FakeOpenAiServer;
  baseURL: string;
  apiKey: string;
  stop(): Promise<void>;
}

/** Starts the in-process demo LLM on loopback (a little latency, so streaming is visible). */
export async function startDemoLlmServer(options: { logger?: Logger } = {}): Promise<DemoLlmServer> {
  const apiKey = 'bardcast-demo';
  const server = new FakeOpenAiServer({
    firstTokenLatencyMs: 150,
    tokensPerSec: 60,
    apiKey,
    reply: (messages: FakeChatMessage[]) => {
      const prompt = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
      return demoNarrationFor(String(prompt));
    },
  });
  const { url } = await server.start();
  options.logger?.info(
    { url },
    'demo mode: narration is written by a built-in offline script, not a real LLM',
  );
  return { server, baseURL: url, apiKey, stop: () => server.stop() };
}
