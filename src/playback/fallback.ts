import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Clock, TimerHandle } from '../clock';
import type { Logger } from '../log';
import type { PlaybackMetrics } from './metrics';
import type { ChunkMove, PlaybackRepository, WriteOp } from './repository';

/** Options for {@link ResilientRepository}. */
export interface ResilientRepositoryOptions {
  clock: Clock;
  log: Logger;
  metrics?: PlaybackMetrics;
  /** How often to probe the database during an outage. */
  retryIntervalMs?: number;
  /** Append-only file that keeps the journal across a crash during an outage. */
  journalFile?: string;
}

/** Prisma error codes that are the caller's fault, not the database's absence. */
const DATA_ERROR_CODES = new Set(['P2000', 'P2002', 'P2003', 'P2011', 'P2012', 'P2014', 'P2025']);

/**
 * True when `err` means "the data or the query is wrong" rather than "the
 * database cannot be reached right now". Only the latter starts an outage.
 */
export function isDataError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const name = (err as { name?: unknown }).name;
  if (
    name === 'PrismaClientValidationError' ||
    name === 'InvalidTransitionError' ||
    name === 'UnknownWriteOpError'
  ) {
    return true;
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && DATA_ERROR_CODES.has(code)) return true;
  // A statement the database itself refused (raw SQL: P2010), by its SQLSTATE: a constraint,
  // a bad value or a bad query is the data's fault; a lost connection or a busy server is not.
  const state = sqlStateOf(err);
  return state !== undefined && !TRANSIENT_SQLSTATE_CLASSES.has(state.slice(0, 2));
}

/** SQLSTATE classes that say "try again later": connection, rollback, resources, shutdown, system. */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57', '58']);

/** The PostgreSQL error code behind a Prisma driver-adapter error, if any. */
function sqlStateOf(err: object): string | undefined {
  const meta = (err as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } }).meta;
  const state = meta?.driverAdapterError?.cause?.originalCode;
  return typeof state === 'string' && /^[0-9A-Z]{5}$/.test(state) ? state : undefined;
}

/** A write waiting its turn, and its caller's promise. */
interface QueuedWrite {
  op: WriteOp;
  resolve(): void;
  reject(err: unknown): void;
}

/** Ops applied as one, and the writes they stand for (in order). */
interface WriteGroup {
  op: WriteOp;
  parts: QueuedWrite[];
}

/**
 * Groups writes that queued up behind one in flight, keeping their order:
 * a run of `moveChunk` ops becomes one `moveChunks` op (a new one starts
 * where a chunk would appear twice, so each row moves once per statement);
 * every other op stays as it is.
 */
function groupWrites(queue: readonly QueuedWrite[]): WriteGroup[] {
  const groups: WriteGroup[] = [];
  let run: { moves: ChunkMove[]; parts: QueuedWrite[] } | null = null;
  const endRun = (): void => {
    if (!run) return;
    const [only] = run.moves;
    groups.push({
      op:
        run.moves.length === 1 && only
          ? { op: 'moveChunk', ...only }
          : { op: 'moveChunks', moves: run.moves },
      parts: run.parts,
    });
    run = null;
  };
  for (const w of queue) {
    const op = w.op;
    if (op.op !== 'moveChunk') {
      endRun();
      groups.push({ op, parts: [w] });
      continue;
    }
    if (run?.moves.some((m) => m.id === op.id)) endRun();
    run ??= { moves: [], parts: [] };
    run.moves.push({ id: op.id, from: op.from, patch: op.patch });
    run.parts.push(w);
  }
  endRun();
  return groups;
}

/**
 * Wraps a repository so the station keeps running while the database is
 * unreachable (DESIGN.md rule 6). Writes are applied in order; those that
 * queue up while one is in flight go together (chunk status changes as one
 * statement, see {@link groupWrites}), so a busy station costs the embedded
 * database a few statements a second, not one per chunk event.
 * When a write fails for lack of a database, it and every later write go to a
 * journal (memory plus an append-only file); a probe retries the database and
 * replays the journal in order. Ops are idempotent, so a replay that is cut
 * short and restarted adds no duplicates. The outage is logged once.
 */
export class ResilientRepository implements PlaybackRepository {
  readonly #inner: PlaybackRepository;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: PlaybackMetrics | undefined;
  readonly #retryMs: number;
  readonly #journalFile: string | undefined;
  #journal: WriteOp[] = [];
  #outageSince: number | null = null;
  #tail: Promise<void> = Promise.resolve();
  /** Writes not yet taken by a drain, and whether one is scheduled. */
  #queue: QueuedWrite[] = [];
  #drainScheduled = false;
  #probe: TimerHandle | null = null;
  #closed = false;

  constructor(inner: PlaybackRepository, options: ResilientRepositoryOptions) {
    this.#inner = inner;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#retryMs = options.retryIntervalMs ?? 5_000;
    this.#journalFile = options.journalFile;
  }

  /** True while writes are being journalled instead of stored. */
  get inOutage(): boolean {
    return this.#outageSince !== null;
  }

  /** Writes waiting in the journal. */
  get journalLength(): number {
    return this.#journal.length;
  }

  /**
   * Replays a journal file left by a process that died during an outage. Call
   * once at start-up before reading anything.
   */
  async recoverJournal(): Promise<number> {
    if (!this.#journalFile) return 0;
    let text: string;
    try {
      text = await readFile(this.#journalFile, 'utf8');
    } catch {
      return 0;
    }
    const ops = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => {
        try {
          return [reviveOp(JSON.parse(line))];
        } catch {
          // A torn last line from the crash: everything before it is intact.
          return [];
        }
      });
    for (const op of ops) await this.#applyOrDrop(op);
    await rm(this.#journalFile, { force: true });
    if (ops.length > 0) this.#log.warn({ replayed: ops.length }, 'replayed the journal left by the last run');
    return ops.length;
  }

  apply(op: WriteOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      if (this.#drainScheduled) return;
      this.#drainScheduled = true;
      // #drain settles every caller itself; the catch only keeps the chain alive whatever happens.
      this.#tail = this.#tail.then(() => this.#drain()).catch(() => {});
    });
  }

  /** Applies every write queued so far, grouped; never rejects (each caller gets its own outcome). */
  async #drain(): Promise<void> {
    this.#drainScheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const group of groupWrites(queue)) {
      try {
        await this.#applyNow(group.op);
        for (const w of group.parts) w.resolve();
      } catch (err) {
        if (group.parts.length === 1) {
          (group.parts[0] as QueuedWrite).reject(err);
          continue;
        }
        // A data error in a grouped write: apply its parts one by one, so only the bad one fails.
        for (const w of group.parts) {
          await this.#applyNow(w.op).then(w.resolve, w.reject);
        }
      }
    }
  }

  /** Resolves when every write issued so far is durable. */
  flush(): Promise<void> {
    return this.#tail;
  }

  /** Tries to end an outage now (tests, shutdown) instead of waiting for the probe. */
  async retryNow(): Promise<boolean> {
    const run = this.#tail.then(() => this.#tryReplay());
    this.#tail = run.then(() => {}).catch(() => {});
    return run;
  }

  close(): void {
    this.#closed = true;
    if (this.#probe) this.#clock.clearTimeout(this.#probe);
    this.#probe = null;
  }

  async #applyNow(op: WriteOp): Promise<void> {
    if (this.#outageSince !== null) {
      await this.#journalOp(op);
      return;
    }
    try {
      await this.#inner.apply(op);
    } catch (err) {
      if (isDataError(err)) throw err;
      this.#startOutage(err);
      await this.#journalOp(op);
    }
  }

  async #journalOp(op: WriteOp): Promise<void> {
    this.#journal.push(op);
    if (!this.#journalFile) return;
    try {
      await mkdir(path.dirname(this.#journalFile), { recursive: true });
      await appendFile(this.#journalFile, JSON.stringify(op) + '\n');
    } catch {
      // Disk full or read-only: the memory journal still holds the op.
    }
  }

  #startOutage(err: unknown): void {
    this.#outageSince = this.#clock.now();
    this.#metrics?.dbFallbackActive.set(1);
    this.#log.error(
      { err: err instanceof Error ? err.message : String(err) },
      'database unreachable: playing from memory and journalling writes until it is back',
    );
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#probe) return;
    this.#probe = this.#clock.setTimeout(() => {
      this.#probe = null;
      void this.retryNow();
    }, this.#retryMs);
  }

  async #tryReplay(): Promise<boolean> {
    if (this.#outageSince === null) return true;
    try {
      await this.#inner.ping();
      while (this.#journal.length > 0) {
        const op = this.#journal[0] as WriteOp;
        await this.#applyOrDrop(op);
        this.#journal.shift();
      }
    } catch {
      this.#scheduleProbe();
      return false;
    }
    const downMs = this.#clock.now() - this.#outageSince;
    this.#outageSince = null;
    this.#metrics?.dbFallbackActive.set(0);
    if (this.#journalFile) await rm(this.#journalFile, { force: true }).catch(() => {});
    this.#log.info({ downMs }, 'database is back: journal replayed');
    return true;
  }

  /** Applies a replayed op; a data error there would block the journal forever, so it is logged and dropped. */
  async #applyOrDrop(op: WriteOp): Promise<void> {
    try {
      await this.#inner.apply(op);
    } catch (err) {
      if (!isDataError(err)) throw err;
      this.#log.warn(
        { op: op.op, err: (err as Error).message },
        'dropped a journalled write the database refused',
      );
    }
  }

  ping(): Promise<void> {
    return this.#inner.ping();
  }
  getCampaign(id: string) {
    return this.#inner.getCampaign(id);
  }
  findCampaignByGuild(guildId: string) {
    return this.#inner.findCampaignByGuild(guildId);
  }
  listCampaigns() {
    return this.#inner.listCampaigns();
  }
  loadActiveRequests() {
    return this.#inner.loadActiveRequests();
  }
  listHistory(campaignId: string, limit: number) {
    return this.#inner.listHistory(campaignId, limit);
  }
  maxQueueSeqs() {
    return this.#inner.maxQueueSeqs();
  }
  getRequest(id: string) {
    return this.#inner.getRequest(id);
  }
  getChunk(id: string) {
    return this.#inner.getChunk(id);
  }
  recentNarration(campaignId: string, limit: number) {
    return this.#inner.recentNarration(campaignId, limit);
  }
  findExpiredChunks(before: Date, limit: number) {
    return this.#inner.findExpiredChunks(before, limit);
  }
  deleteChunks(ids: string[]) {
    return this.#inner.deleteChunks(ids);
  }
  markStaleConnections(before: Date, at: Date) {
    return this.#inner.markStaleConnections(before, at);
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Turns a journalled op's ISO date strings back into Dates. */
function reviveOp(value: unknown): WriteOp {
  const revive = (v: unknown): unknown => {
    if (typeof v === 'string' && ISO_DATE.test(v)) return new Date(v);
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
    }
    return v;
  };
  const op = revive(value) as WriteOp;
  if (typeof op !== 'object' || op === null || typeof op.op !== 'string') throw new Error('not a journal op');
  return op;
}
