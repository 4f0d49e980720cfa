/**
 * The DM console's tools: the cast editor, the scene library, transcript
 * downloads and the recap. Built into the console's layout from here, so
 * the console page itself only mounts it. Every user-written string goes
 * into the page as text, never as HTML.
 */
import type { PageContext } from './page';

/** A cast member as the server lists it. */
interface CastMember {
  name: string;
  voice: string;
  auto: boolean;
}

/** A scene as the server lists it. */
interface SceneItem {
  name: string;
  text: string;
  status: 'RENDERING' | 'READY' | 'FAILED';
  duration_sec: number | null;
  error: string | null;
}

type Voice = { id: string; label: string };

/** Small DOM builder: `el('button', { text: 'Play' })`. */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { text?: string; cls?: string; testid?: string; attrs?: Record<string, string> } = {},
  ...children: (HTMLElement | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.text !== undefined) node.textContent = props.text;
  if (props.cls) node.className = props.cls;
  if (props.testid) node.dataset.testid = props.testid;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  for (const child of children) if (child) node.append(child);
  return node;
}

/** A tool's card: its title (`<id>-title`) and its parts, test id `<id>-card`. */
function card(id: string, title: string, ...parts: (HTMLElement | null)[]): HTMLElement {
  return el(
    'section',
    { cls: 'card', testid: `${id}-card`, attrs: { 'aria-labelledby': `${id}-title` } },
    el('h2', { cls: 'card-title', text: title, attrs: { id: `${id}-title` } }),
    ...parts,
  );
}

/** A failure as the card's alert line shows it. */
function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs a DM action, then `then` (a card's refresh); a failure shows in the card's alert line. */
function actingOn(
  error: HTMLElement,
  then: () => Promise<void> = async () => undefined,
): (work: () => Promise<unknown>) => Promise<void> {
  return async (work) => {
    error.textContent = '';
    try {
      await work();
      await then();
    } catch (e) {
      error.textContent = messageOf(e);
    }
  };
}

/** Mounts the tools after the console's existing cards. */
export function mountDmTools(context: PageContext, origin: string): void {
  const base = `/api/campaigns/${encodeURIComponent(context.campaignId)}`;
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(new URL(base + path, origin), {
      method,
      headers: {
        Authorization: `Bearer ${context.token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const data: unknown = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const message = (data as { error?: { message?: string } } | null)?.error?.message;
      throw new Error(message ?? `The server answered ${response.status}.`);
    }
    return data;
  };
  const main = document.querySelector('main.layout');
  const anchor = document.getElementById('error');
  if (!main) return;
  const cast = castCard(call);
  const scenes = sceneCard(call);
  const record = transcriptCard(
    call,
    `${base}/transcript/sessions/latest?token=${encodeURIComponent(context.token)}`,
  );
  for (const card of [cast.card, scenes.card, record]) main.insertBefore(card, anchor);
  void cast.refresh();
  void scenes.refresh();
}

type Call = (method: string, path: string, body?: unknown) => Promise<unknown>;

function castCard(call: Call): { card: HTMLElement; refresh: () => Promise<void> } {
  const list = el('ul', { cls: 'tool-list', testid: 'cast-list' });
  const error = el('p', { cls: 'error', testid: 'cast-error', attrs: { role: 'alert' } });
  const name = el('input', {
    testid: 'cast-name',
    attrs: { type: 'text', placeholder: 'Grimble', maxlength: '32', 'aria-label': 'Character name' },
  });
  const voice = el('select', { testid: 'cast-voice', attrs: { 'aria-label': 'Voice' } });
  const add = el('button', { text: 'Set voice', testid: 'cast-add', attrs: { type: 'submit' } });
  const form = el('form', { cls: 'tool-form' }, name, voice, add);
  let voices: Voice[] = [];

  const voiceSelect = (current: string, onChange: (v: string) => void): HTMLSelectElement => {
    const select = el('select', { attrs: { 'aria-label': 'Voice' } });
    for (const v of voices) {
      const option = el('option', { text: v.label, attrs: { value: v.id } });
      option.selected = v.id === current;
      select.append(option);
    }
    select.addEventListener('change', () => onChange(select.value));
    return select;
  };
  const run = actingOn(error, () => refresh());
  async function refresh(): Promise<void> {
    try {
      const data = (await call('GET', '/cast')) as { cast: CastMember[]; voices: Voice[] };
      voices = data.voices;
      voice.replaceChildren(...voices.map((v) => el('option', { text: v.label, attrs: { value: v.id } })));
      list.replaceChildren(
        ...data.cast.map((m) =>
          el(
            'li',
            { cls: 'tool-row', testid: 'cast-member', attrs: { 'data-name': m.name } },
            el('strong', { text: m.name }),
            m.auto ? el('span', { cls: 'muted', text: 'auto' }) : null,
            voiceSelect(
              m.voice,
              (v) => void run(() => call('PUT', `/cast/${encodeURIComponent(m.name)}`, { voice: v })),
            ),
            el('button', { text: 'Remove', cls: 'danger', attrs: { type: 'button' } }),
          ),
        ),
      );
      list.querySelectorAll<HTMLLIElement>('li').forEach((li) => {
        li.querySelector('button')?.addEventListener(
          'click',
          () => void run(() => call('DELETE', `/cast/${encodeURIComponent(li.dataset.name ?? '')}`)),
        );
      });
      if (data.cast.length === 0)
        list.append(
          el('li', { cls: 'muted', text: 'No cast yet: add a character, or write "Grimble: …" in Say.' }),
        );
    } catch (e) {
      error.textContent = messageOf(e);
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(() =>
      call('PUT', `/cast/${encodeURIComponent(name.value.trim())}`, { voice: voice.value }),
    ).then(() => {
      if (!error.textContent) name.value = '';
    });
  });
  return {
    card: card(
      'cast',
      'Cast',
      el('p', {
        cls: 'muted',
        text: 'Each character speaks in their own voice. New speakers get one automatically.',
      }),
      list,
      form,
      error,
    ),
    refresh,
  };
}

function sceneCard(call: Call): { card: HTMLElement; refresh: () => Promise<void> } {
  const list = el('ul', { cls: 'tool-list', testid: 'scene-list' });
  const error = el('p', { cls: 'error', testid: 'scene-error', attrs: { role: 'alert' } });
  const name = el('input', {
    testid: 'scene-name',
    attrs: { type: 'text', placeholder: 'The vault door', maxlength: '32', 'aria-label': 'Scene name' },
  });
  const text = el('textarea', {
    testid: 'scene-text',
    attrs: {
      rows: '4',
      'aria-label': 'Scene text',
      placeholder: 'The door grinds open…\nGrimble: Nobody has been here in a thousand years.',
    },
  });
  const save = el('button', {
    text: 'Save scene',
    cls: 'primary',
    testid: 'scene-save',
    attrs: { type: 'submit' },
  });
  const form = el('form', { cls: 'tool-form tool-form-column' }, name, text, save);
  let timer: number | undefined;

  const run = actingOn(error, () => refresh());
  const status = (s: SceneItem): string =>
    s.status === 'READY'
      ? `ready · ${(s.duration_sec ?? 0).toFixed(1)} s`
      : s.status === 'RENDERING'
        ? 'rendering…'
        : `failed: ${s.error ?? ''}`;
  async function refresh(): Promise<void> {
    window.clearTimeout(timer);
    try {
      const { scenes } = (await call('GET', '/scenes')) as { scenes: SceneItem[] };
      list.replaceChildren(
        ...scenes.map((s) => {
          const play = el('button', {
            text: '▶ Play',
            cls: 'primary',
            testid: 'scene-play',
            attrs: { type: 'button' },
          });
          play.disabled = s.status !== 'READY';
          play.addEventListener(
            'click',
            () => void run(() => call('POST', `/scenes/${encodeURIComponent(s.name)}/play`)),
          );
          const edit = el('button', { text: 'Edit', attrs: { type: 'button' } });
          edit.addEventListener('click', () => {
            name.value = s.name;
            text.value = s.text;
            text.focus();
          });
          const del = el('button', { text: 'Delete', cls: 'danger', attrs: { type: 'button' } });
          del.addEventListener(
            'click',
            () => void run(() => call('DELETE', `/scenes/${encodeURIComponent(s.name)}`)),
          );
          return el(
            'li',
            { cls: 'tool-row', testid: 'scene', attrs: { 'data-name': s.name, 'data-status': s.status } },
            el('strong', { text: s.name }),
            el('span', { cls: 'muted', text: status(s) }),
            play,
            edit,
            del,
          );
        }),
      );
      if (scenes.length === 0)
        list.append(
          el('li', { cls: 'muted', text: 'No scenes yet: prepare read-aloud text before the session.' }),
        );
      if (scenes.some((s) => s.status === 'RENDERING')) timer = window.setTimeout(() => void refresh(), 1000);
    } catch (e) {
      error.textContent = messageOf(e);
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(() =>
      call('PUT', `/scenes/${encodeURIComponent(name.value.trim())}`, { text: text.value }),
    ).then(() => {
      if (!error.textContent) {
        name.value = '';
        text.value = '';
      }
    });
  });
  return {
    card: card(
      'scene',
      'Scenes',
      el('p', { cls: 'muted', text: 'Rendered ahead of time; they go on air the moment you press Play.' }),
      list,
      form,
      error,
    ),
    refresh,
  };
}

function transcriptCard(call: Call, downloadUrl: string): HTMLElement {
  const error = el('p', { cls: 'error', testid: 'recap-error', attrs: { role: 'alert' } });
  const note = el('p', { cls: 'muted', testid: 'recap-note', attrs: { role: 'status' } });
  const download = el('a', {
    text: 'Download the latest session (Markdown)',
    testid: 'transcript-download',
    attrs: { href: downloadUrl, download: '' },
  });
  const newSession = el('button', {
    text: 'Start a new session',
    testid: 'new-session',
    attrs: { type: 'button' },
  });
  const write = el('button', {
    text: 'Write a recap',
    cls: 'primary',
    testid: 'recap-write',
    attrs: { type: 'button' },
  });
  const draft = el('textarea', { testid: 'recap-text', attrs: { rows: '4', 'aria-label': 'Recap draft' } });
  const air = el('button', {
    text: 'Air recap',
    cls: 'primary',
    testid: 'recap-air',
    attrs: { type: 'button' },
  });
  const drop = el('button', { text: 'Drop', testid: 'recap-drop', attrs: { type: 'button' } });
  const editor = el(
    'div',
    { cls: 'tool-form tool-form-column', testid: 'recap-editor' },
    draft,
    el('div', { cls: 'tool-form' }, air, drop),
  );
  editor.hidden = true;
  const act = actingOn(error);
  newSession.addEventListener(
    'click',
    () =>
      void act(async () => {
        await call('POST', '/transcript/sessions', {});
        note.textContent = 'New session started: what airs from now on goes in it.';
      }),
  );
  write.addEventListener(
    'click',
    () =>
      void act(async () => {
        write.disabled = true;
        note.textContent = 'Writing…';
        try {
          const result = (await call('POST', '/recap')) as { kind: string; text?: string };
          if (result.kind === 'draft') {
            draft.value = result.text ?? '';
            editor.hidden = false;
            note.textContent = 'Only you see this draft. Edit it, then air it or drop it.';
          } else if (result.kind === 'no_llm') {
            note.textContent =
              'No LLM is configured, so I can’t write a recap: download the transcript and recap it yourself.';
          } else {
            note.textContent = 'Nothing has aired yet, so there is nothing to recap.';
          }
        } finally {
          write.disabled = false;
        }
      }),
  );
  air.addEventListener(
    'click',
    () =>
      void act(async () => {
        await call('POST', '/recap/air', { text: draft.value });
        editor.hidden = true;
        note.textContent = 'Recap queued.';
      }),
  );
  drop.addEventListener(
    'click',
    () =>
      void act(async () => {
        await call('DELETE', '/recap');
        editor.hidden = true;
        note.textContent = 'Recap dropped.';
      }),
  );
  return card(
    'transcript',
    'Transcript & recap',
    el('div', { cls: 'tool-form' }, download, newSession, write),
    editor,
    note,
    error,
  );
}
