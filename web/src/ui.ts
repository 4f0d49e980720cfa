/** DOM helpers shared by the listener page and the DM console. */
import { spoilerFreeLabel, statusLabel, truncate } from './format';
import type { RequestSummary } from './protocol';

/** The element with this id; throws when the page lacks it (a build mistake, not a user error). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

/** Sets text only when it changed, so live regions announce changes and nothing else. */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Sets a data attribute only when it changed. */
export function setData(el: HTMLElement, key: string, value: string): void {
  if (el.dataset[key] !== value) el.dataset[key] = value;
}

/** Options of {@link renderRequests}. */
export interface RenderRequestsOptions {
  /** Show generation progress and errors (DM console). */
  detailed?: boolean;
  maxText?: number;
}

/**
 * Renders a list of requests into `list` (an `<ol>`/`<ul>`), rebuilding only
 * when the content changed. Each item carries `data-testid="queue-item"`,
 * `data-request-id` and `data-status`.
 */
export function renderRequests(
  list: HTMLElement,
  requests: readonly RequestSummary[],
  options: RenderRequestsOptions = {},
): void {
  const key = JSON.stringify(
    requests.map((r) => [r.request_id, r.status, r.generation, r.ready_chunks, r.total_chunks, r.error]),
  );
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(
    ...requests.map((r) => {
      const li = document.createElement('li');
      li.className = 'request';
      li.dataset.testid = 'queue-item';
      li.dataset.requestId = r.request_id;
      li.dataset.status = r.status;
      const badge = document.createElement('span');
      badge.className = `badge badge-${r.status.toLowerCase()}`;
      badge.textContent = statusLabel(r.status);
      const text = document.createElement('span');
      text.className = 'request-text';
      if (r.text === null) {
        // A player's view: kind and length, never the text of what has not aired.
        text.textContent = spoilerFreeLabel(r);
        li.dataset.hidden = 'true';
      } else {
        text.textContent = truncate(r.text, options.maxText ?? 140);
        text.title = r.text;
      }
      li.append(badge, ' ', text);
      if (options.detailed) {
        const meta = document.createElement('span');
        meta.className = 'request-meta';
        const chunks =
          r.total_chunks === null ? `${r.ready_chunks} ready` : `${r.ready_chunks}/${r.total_chunks}`;
        meta.textContent = `${r.mode} · ${r.generation.toLowerCase()} · ${chunks}`;
        li.append(meta);
      }
      if (r.error) {
        const error = document.createElement('span');
        error.className = 'request-error';
        error.dataset.testid = 'request-error';
        error.textContent = r.error;
        li.append(error);
      }
      return li;
    }),
  );
}
