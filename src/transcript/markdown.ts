/** A transcript session as a Markdown document (DM console download, `/transcript`). */
import type { TranscriptEntry, TranscriptSession } from './types';

/** Options for {@link sessionMarkdown}. */
export interface MarkdownOptions {
  campaignName: string;
  /** IANA time zone for times (default UTC). */
  timeZone?: string;
}

/** Escapes characters Markdown would read as formatting. */
function escape(text: string): string {
  return text.replace(/([\\`*_[\]<>#|])/g, '\\$1');
}

function time(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone }).format(date);
}

function day(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone }).format(date);
}

function who(requestedBy: string | null): string {
  if (!requestedBy) return '';
  if (requestedBy.startsWith('web:')) return ' · from the DM console';
  if (requestedBy.startsWith('scene:')) return ` · scene “${escape(requestedBy.slice(6))}”`;
  return /^\d+$/.test(requestedBy) ? ` · by <@${requestedBy}>` : ` · by ${escape(requestedBy)}`;
}

function outcome(entry: TranscriptEntry): string {
  const aired = entry.lines.filter((l) => l.aired).length;
  if (entry.status === 'CANCELLED') return `_(skipped after ${aired} of ${entry.lines.length} sentences)_`;
  if (entry.status === 'FAILED')
    return `_(failed after ${aired} of ${entry.lines.length} sentences: ${escape(entry.error ?? 'unknown error')})_`;
  return '';
}

/** The session as Markdown: one section per narration, speakers in bold, unaired lines struck through. */
export function sessionMarkdown(session: TranscriptSession, options: MarkdownOptions): string {
  const tz = options.timeZone ?? 'UTC';
  const out: string[] = [
    `# ${escape(options.campaignName)} — ${session.title ? escape(session.title) : `session of ${day(session.startedAt, tz)}`}`,
    '',
    `${day(session.startedAt, tz)}, ${time(session.startedAt, tz)}–${time(session.endedAt, tz)} (${tz}) · ${session.entries.length} narrations`,
    '',
  ];
  for (const entry of session.entries) {
    const at = entry.airedAt ?? entry.queuedAt;
    out.push(`## ${time(at, tz)} · ${entry.mode}${who(entry.requestedBy)}`, '');
    for (const line of entry.lines) {
      const text = line.speaker ? `**${escape(line.speaker)}:** ${escape(line.text)}` : escape(line.text);
      out.push(line.aired ? text : `~~${text}~~`, '');
    }
    const note = outcome(entry);
    if (note) out.push(note, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The session as plain text for the LLM (aired lines only). */
export function sessionPlainText(session: TranscriptSession): string {
  return session.entries
    .map((e) =>
      e.lines
        .filter((l) => l.aired)
        .map((l) => (l.speaker ? `${l.speaker}: ${l.text}` : l.text))
        .join(' '),
    )
    .filter(Boolean)
    .join('\n\n');
}

/** A file name for the session's download. */
export function sessionFileName(campaignName: string, session: TranscriptSession): string {
  const slug =
    campaignName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'campaign';
  return `${slug}-${session.startedAt.toISOString().slice(0, 10)}.md`;
}
