// Compiles the server (src/main.ts and everything it imports) to plain JavaScript in
// dist/src/, which `npm start` runs with node alone: no TypeScript compiler in memory
// at run time. Packages stay external (resolved from node_modules). dist/src/main.js
// sits two levels below the repository root like src/main.ts does, so paths such as
// web/dist and prisma/migrations resolve the same from both. Plain JavaScript so it
// runs at `npm install` time without a TypeScript loader.
import { build } from 'esbuild';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..');
const outdir = path.join(root, 'dist', 'src');

/** File name, next to the compiled chunks, of Prisma's query compiler as plain WebAssembly. */
const QUERY_COMPILER_FILE = 'query-compiler.wasm';

/**
 * The generated Prisma client loads its query compiler from a module that
 * exports it as one 4.4 MB base64 string; once imported, that module's source
 * and the string stay on the JavaScript heap for the life of the process
 * (~9 MB). The compiled server reads the same bytes from a .wasm file written
 * here instead, and nothing of them stays behind but the compiled module.
 * `npm run dev` and the tests keep the generated code as it is.
 */
const prismaWasmFromFile = {
  name: 'prisma-query-compiler-from-file',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]generated[\\/]prisma[\\/]internal[\\/]class\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const loader =
        /const \{ wasm \} = await import\("(@prisma\/client\/runtime\/query_compiler_[\w.]+\.wasm-base64\.mjs)"\)\s*\n\s*return await decodeBase64AsWasm\(wasm\)/;
      const found = loader.exec(source);
      if (!found) {
        return {
          contents: source,
          loader: 'ts',
          warnings: [
            {
              text: "Prisma's query compiler loader has changed shape: it stays a base64 module (~9 MB more heap)",
            },
          ],
        };
      }
      const specifier = createRequire(path.join(root, 'package.json')).resolve(found[1]);
      const { wasm } = await import(pathToFileURL(specifier).href);
      await mkdir(outdir, { recursive: true });
      await writeFile(path.join(outdir, QUERY_COMPILER_FILE), Buffer.from(wasm, 'base64'));
      const replacement =
        `const { readFile } = await import('node:fs/promises')\n` +
        `    return new WebAssembly.Module(await readFile(new URL('./${QUERY_COMPILER_FILE}', import.meta.url)))`;
      return { contents: source.replace(found[0], replacement), loader: 'ts' };
    });
  },
};

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
  plugins: [prismaWasmFromFile],
});
