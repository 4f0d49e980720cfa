/**
 * Builds the listener page and the DM console into `web/dist`:
 *   npx vite build --config web/vite.config.ts
 * The server serves `web/dist` under `/static/` (hashed files in
 * `/static/assets/` are immutable) and answers `/listen/{campaign}` with
 * `web/dist/listen.html` and `/dm/{campaign}` with `web/dist/dm.html`. The
 * base is absolute because those pages live at different depths.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: webRoot,
  base: '/static/',
  publicDir: false,
  // The pages import src/media/mp3.ts from the server side of the repository.
  server: { fs: { allow: [repoRoot] } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    rolldownOptions: {
      input: {
        listen: fileURLToPath(new URL('listen.html', import.meta.url)),
        dm: fileURLToPath(new URL('dm.html', import.meta.url)),
        overlay: fileURLToPath(new URL('overlay.html', import.meta.url)),
      },
    },
  },
});
