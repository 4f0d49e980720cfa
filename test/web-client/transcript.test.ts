import { describe, expect, it } from 'vitest';
import { spoilerFreeLabel } from '../../web/src/format';
import type { ScheduleEntry } from '../../web/src/protocol';
import { Transcript } from '../../web/src/transcript';

const entry = (seq: number, text: string | null, request = 'r1'): ScheduleEntry => ({
  request_id: request,
  chunk_id: `${request}-c${seq}`,
  sequence_number: seq,
  url: `/api/audio/chunks/${request}-c${seq}`,
  text,
  starts_at: 1000 * seq,
  duration_sec: 1,
});

describe('Transcript (what a player has been allowed to read)', () => {
  it('learns each sentence as a schedule reveals it and joins them in order', () => {
    const t = new Transcript();
    t.noteSchedule([entry(0, 'One.'), entry(1, null), entry(2, null)]);
    expect(t.textOf('r1-c0')).toBe('One.');
    expect(t.textOf('r1-c1')).toBeNull();
    expect(t.spoken('r1')).toBe('One.');
    t.noteSchedule([entry(2, 'Three.')]);
    t.noteSchedule([entry(1, 'Two.'), entry(2, 'Three.')]);
    expect(t.spoken('r1')).toBe('One. Two. Three.');
    expect(t.spoken('r1', 1)).toBe('One. Two.');
    expect(t.spoken('nope')).toBeNull();
  });

  it('keeps only the last requests', () => {
    const t = new Transcript(2);
    for (const r of ['a', 'b', 'c']) t.noteSchedule([entry(0, `${r}.`, r)]);
    expect(t.spoken('a')).toBeNull();
    expect(t.spoken('c')).toBe('c.');
  });
});

describe('spoilerFreeLabel (kind and length, as Discord /queue)', () => {
  const r = { mode: 'narrate', generation: 'GENERATED', total_chunks: 4, ready_chunks: 4 };
  it('names the kind and the size without any text', () => {
    expect(spoilerFreeLabel(r)).toBe('Narration · 4 sentences');
    expect(spoilerFreeLabel({ ...r, mode: 'say', total_chunks: 1, ready_chunks: 1 })).toBe(
      'Read-aloud · 1 sentence',
    );
    expect(spoilerFreeLabel({ ...r, generation: 'PENDING', total_chunks: null, ready_chunks: 0 })).toBe(
      'Narration · being written…',
    );
    expect(spoilerFreeLabel({ ...r, generation: 'GENERATING', total_chunks: null, ready_chunks: 2 })).toBe(
      'Narration · 2 sentences ready, more coming',
    );
  });
});
