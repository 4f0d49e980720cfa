/** DM console: `/dm/{campaign}?token=…` (a DM token). */
import './style.css';
import { ApiError, type ApiClient, type ControlAction } from './api';
import { bootPage } from './boot';
import { mountDmTools } from './dm-tools';
import { VERBATIM_NOTE, buildNarration, isSubmitShortcut, narrationCount } from './narration-form';
import { bindPlayerControls } from './player-ui';
import { renderConnection, renderNowPlaying } from './shared-view';
import { Station, type StationView } from './station';
import { controlsEnabled } from './controls';
import { byId, renderRequests, setData, setText } from './ui';
import { ConnectionStatus } from './ws-client';

const ACTIONS: readonly ControlAction[] = ['skip', 'stop', 'pause', 'resume'];

function describe(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

function main(): void {
  const booted = bootPage('dm', describe);
  if (!booted) return;
  const { api, station } = booted;
  mountDmTools(booted.context, location.origin);
  bindNarrationForm(api, station);
  const controlBusy = bindControls(api, station);
  bindListenToggle(station);

  // History (with errors) only comes over HTTP: refresh it when the queue moves.
  let refreshTimer: number | undefined;
  station.on('message', (message) => {
    if (message.type === 'playback_queue_updated' || message.type === 'audio_stream_stopped') {
      window.clearTimeout(refreshTimer);
      refreshTimer = window.setTimeout(() => void station.refreshQueue(), 300);
    }
  });

  byId('reconnect-button').addEventListener('click', () => station.start());
  station.on('change', (view) => render(view, controlBusy()));
  station.start();
  render(station.view(), false);
}

function bindNarrationForm(api: ApiClient, station: Station): void {
  const form = byId<HTMLFormElement>('narration-form');
  const textarea = byId<HTMLTextAreaElement>('narration-text');
  const voice = byId<HTMLInputElement>('voice');
  const send = byId<HTMLButtonElement>('send-button');
  const status = byId('send-status');
  const error = byId('send-error');
  const count = byId('narration-count');
  const note = byId('send-note');
  let sending = false;

  const update = () => {
    const length = textarea.value.trim().length;
    // No maxlength on the box: a paste past the limit must not be cut silently.
    const counted = narrationCount(textarea.value);
    setText(count, counted.label);
    setData(count, 'over', String(counted.over > 0));
    textarea.setAttribute('aria-invalid', String(counted.over > 0));
    send.disabled = sending || length === 0 || counted.over > 0;
    setData(form, 'sending', String(sending));
    textarea.setAttribute('aria-busy', String(sending));
  };
  textarea.addEventListener('input', update);
  textarea.addEventListener('keydown', (event) => {
    if (isSubmitShortcut(event)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (sending) return;
    const mode = (form.elements.namedItem('mode') as RadioNodeList | null)?.value ?? 'narrate';
    const body = buildNarration({ text: textarea.value, mode, voice: voice.value });
    if ('error' in body) {
      setText(error, body.error);
      textarea.focus();
      return;
    }
    sending = true;
    setText(error, '');
    setText(status, 'Sending…');
    note.hidden = true;
    update();
    api
      .narrate(body)
      .then(({ request_id, spoken_verbatim }) => {
        textarea.value = '';
        setText(status, `Queued (${request_id.slice(0, 8)}).`);
        setText(note, spoken_verbatim ? VERBATIM_NOTE : '');
        note.hidden = !spoken_verbatim;
        void station.refreshQueue();
      })
      .catch((e: unknown) => {
        setText(status, '');
        setText(error, describe(e));
      })
      .finally(() => {
        sending = false;
        update();
        textarea.focus();
      });
  });
  update();
}

/** Wires Skip/Stop/Pause/Resume; returns whether a control call is in flight. */
function bindControls(api: ApiClient, station: Station): () => boolean {
  const error = byId('control-error');
  let busy = false;
  for (const action of ACTIONS) {
    byId<HTMLButtonElement>(`${action}-button`).addEventListener('click', () => {
      if (busy) return;
      busy = true;
      setText(error, '');
      render(station.view(), busy);
      api
        .control(action)
        .catch((e: unknown) => setText(error, describe(e)))
        .finally(() => {
          busy = false;
          render(station.view(), busy);
        });
    });
  }
  return () => busy;
}

function bindListenToggle(station: Station): void {
  const toggle = byId<HTMLInputElement>('listen-toggle');
  const controls = bindPlayerControls(station);
  toggle.disabled = false;
  toggle.addEventListener('change', () => {
    toggle.disabled = true;
    const done = toggle.checked
      ? station.startAudio().then(() => controls.applyVolume())
      : station.stopAudio();
    done
      .catch((e: unknown) => {
        toggle.checked = false;
        audioError = `Audio could not start: ${describe(e)}`;
        render(station.view(), false);
      })
      .finally(() => {
        toggle.disabled = false;
      });
  });
}

/** An error of this page itself (the station reports its own in the view). */
let audioError: string | null = null;

function render(view: StationView, controlBusy: boolean): void {
  renderConnection(view);
  renderNowPlaying(view, { pausedText: 'Paused', maxChars: 300 });

  const progress = byId<HTMLProgressElement>('progress');
  const p = view.progress;
  progress.max = Math.max(1, p?.total ?? 1);
  progress.value = p ? Math.min(p.played, p.total) : 0;
  setText(byId('progress-text'), p ? `${p.played} of ${p.total} sentences played` : '');

  const live = view.connection === ConnectionStatus.Live;
  const busy = controlBusy || !live;
  const enabled = controlsEnabled(view);
  byId<HTMLButtonElement>('skip-button').disabled = busy || !enabled.skip;
  byId<HTMLButtonElement>('stop-button').disabled = busy || !enabled.stop;
  byId<HTMLButtonElement>('pause-button').disabled = busy || !enabled.pause;
  byId<HTMLButtonElement>('resume-button').disabled = busy || !enabled.resume;

  renderRequests(byId('queue'), view.pending, { detailed: true });
  byId('queue-empty').hidden = view.pending.length > 0;
  renderRequests(byId('history'), view.history, { detailed: true });
  byId('history-empty').hidden = view.history.length > 0;
  setText(byId('error'), audioError ?? view.lastError ?? '');
}

main();
