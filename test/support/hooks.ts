/**
 * Set-up that test files share, as vitest hooks registered in the calling
 * block (a file or a `describe`). Each `use…` returns a stand-in that reads
 * what its hook made, so a test writes `tdb.repository` or `t.engine` as
 * before. After-hooks run in reverse order (vitest's `sequence.hooks:
 * 'stack'`): what a file registers after these is torn down before them.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import { openTestDatabase, type Backend, type TestDatabase } from './db';
import { startTestEngine, type TestEngine } from './engine';

/** What a hook made, or a clear error when a test reads it outside the block. */
function slot<T>(what: string): { get(): T; set(value: T | undefined): void } {
  let value: T | undefined;
  return {
    get: () => {
      if (value === undefined) throw new Error(`${what} is only there inside the tests of its block`);
      return value;
    },
    set: (v) => {
      value = v;
    },
  };
}

/** One migrated database on `backend` for the block (emptied by {@link useTestEngine} or the test). */
export function useTestDatabase(backend: Backend): TestDatabase {
  const current = slot<TestDatabase>('the test database');
  beforeAll(async () => {
    current.set(await openTestDatabase(backend));
  });
  afterAll(async () => {
    await current.get().close();
    current.set(undefined);
  });
  return {
    backend,
    get db() {
      return current.get().db;
    },
    get repository() {
      return current.get().repository;
    },
    reset: () => current.get().reset(),
    close: () => current.get().close(),
  };
}

/** A playback engine of its own for each test, on `tdb` emptied first (see {@link startTestEngine}). */
export function useTestEngine(
  tdb: TestDatabase,
  options: Parameters<typeof startTestEngine>[1] = {},
): TestEngine {
  const current = slot<TestEngine>('the test engine');
  beforeEach(async () => {
    await tdb.reset();
    current.set(await startTestEngine(tdb.repository, options));
  });
  afterEach(async () => {
    await current.get().dispose();
    current.set(undefined);
  });
  return {
    get engine() {
      return current.get().engine;
    },
    get clock() {
      return current.get().clock;
    },
    get audioDir() {
      return current.get().audioDir;
    },
    dispose: () => current.get().dispose(),
  };
}

/** The fake OpenAI server for the block, its counters reset before each test. */
export interface FakeOpenAi {
  readonly server: FakeOpenAiServer;
  /** Its `/v1` URL, for the `openai` SDK. */
  readonly baseURL: string;
}

/** Starts a {@link FakeOpenAiServer} with `options` for the block. */
export function useFakeOpenAi(options: ConstructorParameters<typeof FakeOpenAiServer>[0]): FakeOpenAi {
  const server = new FakeOpenAiServer(options);
  const url = slot<string>('the fake OpenAI server');
  beforeAll(async () => {
    url.set((await server.start()).url);
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.resetStats();
  });
  return {
    server,
    get baseURL() {
      return url.get();
    },
  };
}
