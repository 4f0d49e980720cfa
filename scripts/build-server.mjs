// Compiles the server (src/main.ts and everything it imports) to plain JavaScript in
// dist/src/, which `npm start` runs with node alone: no TypeScript compiler in memory
// at run time. Packages stay external (resolved from node_modules). dist/src/main.js
// sits two levels below the repository root like src/main.ts does, so paths such as
// web/dist and prisma/migrations resolve the same from both. Plain JavaScript so it
// runs at `npm install` time without a TypeScript loader.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const outdir = path.join(root, 'dist', 'src');

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  outdir,
  bundle: true,
  // The bot (discord.js, @discordjs/voice) is a dynamic import: a chunk of its own, loaded only with a token.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
