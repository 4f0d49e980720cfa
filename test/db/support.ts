import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MIGRATIONS_DIR } from '../../src/db';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Runs Prisma 6.19's real CLI (`prisma6` alias) against a PGlite data dir and
 * returns its output once it prints `until` (the CLI leaves the PGlite handle
 * open when it has nothing to do and never exits by itself) or exits.
 * Its schema needs a `url` and no generator, so a copy is written to a temp dir.
 */
export async function prismaCli(args: string[], pgliteDir: string, until: RegExp): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bardcast-prisma6-'));
  const schema = (await readFile(path.join(ROOT, 'prisma/schema.prisma'), 'utf8'))
    .replace(/generator client \{[^}]*\}/, '')
    .replace(
      'provider = "postgresql"',
      'provider = "postgresql"\n  url      = "postgresql://unused@127.0.0.1/unused"',
    );
  const schemaPath = path.join(dir, 'schema.prisma');
  await writeFile(schemaPath, schema);
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/prisma6/build/index.js'),
      ...args,
      '--config',
      path.join(ROOT, 'test/db/fixtures/prisma6.config.ts'),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PGLITE_DIR: pgliteDir,
        PRISMA6_SCHEMA: schemaPath,
        PRISMA6_MIGRATIONS: MIGRATIONS_DIR,
        // The WASM engine does the work; these stop the CLI from looking for native engines.
        PRISMA_QUERY_ENGINE_LIBRARY: '/bin/true',
        PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`prisma ${args.join(' ')} timed out:\n${out}`));
    }, 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (until.test(out)) {
        clearTimeout(timer);
        // Let it finish writing what it was writing, then end it.
        setTimeout(() => child.kill('SIGKILL'), 300);
        resolve(out);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
