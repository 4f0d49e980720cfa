/**
 * The caption overlay's look, read from its address (README "For the DM"):
 * every parameter is optional and checked; a bad value falls back to the
 * default rather than breaking the overlay. Pure, so it is tested without a DOM.
 */

/** How the overlay looks. */
export interface OverlayStyle {
  /** Font size in CSS pixels (12–200, default 48). */
  sizePx: number;
  /** Vertical place of the caption. */
  position: 'top' | 'middle' | 'bottom';
  align: 'left' | 'center' | 'right';
  /** Text colour (hex or a CSS colour name). */
  color: string;
  /** Box behind the text (`transparent` for none). */
  background: string;
  /** Outline around the letters for legibility on any video (`none` for no outline). */
  outline: string;
  font: 'sans' | 'serif';
  /** Widest the caption gets, in % of the window (20–100, default 80). */
  widthPct: number;
}

/** The look with no parameters. */
export const DEFAULT_OVERLAY_STYLE: OverlayStyle = {
  sizePx: 48,
  position: 'bottom',
  align: 'center',
  color: '#ffffff',
  background: 'rgba(0, 0, 0, 0.55)',
  outline: '#000000',
  font: 'sans',
  widthPct: 80,
};

const NAMED = new Set([
  'white',
  'black',
  'yellow',
  'gold',
  'orange',
  'red',
  'crimson',
  'pink',
  'violet',
  'purple',
  'blue',
  'navy',
  'cyan',
  'teal',
  'green',
  'lime',
  'gray',
  'grey',
  'silver',
  'beige',
  'ivory',
  'wheat',
  'transparent',
]);

/** A colour the overlay accepts: `#rgb`, `#rrggbb`, `#rrggbbaa` (with or without `#`) or a CSS colour name. */
export function parseColor(raw: string | null): string | null {
  if (raw === null) return null;
  const value = raw.trim().toLowerCase();
  if (NAMED.has(value)) return value;
  const hex = /^#?([0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/.exec(value);
  return hex ? `#${hex[1]}` : null;
}

function number(raw: string | null, min: number, max: number): number | null {
  if (raw === null || !/^\d{1,4}$/.test(raw.trim())) return null;
  const n = Number(raw);
  return n >= min && n <= max ? n : null;
}

function oneOf<T extends string>(raw: string | null, values: readonly T[]): T | null {
  const v = raw?.trim().toLowerCase();
  return (values as readonly string[]).includes(v ?? '') ? (v as T) : null;
}

/** The overlay's look from its query string. */
export function readOverlayStyle(search: string): OverlayStyle {
  const q = new URLSearchParams(search);
  const d = DEFAULT_OVERLAY_STYLE;
  const outline = q.get('outline');
  return {
    sizePx: number(q.get('size'), 12, 200) ?? d.sizePx,
    position: oneOf(q.get('position'), ['top', 'middle', 'bottom'] as const) ?? d.position,
    align: oneOf(q.get('align'), ['left', 'center', 'right'] as const) ?? d.align,
    color: parseColor(q.get('color')) ?? d.color,
    background: parseColor(q.get('background')) ?? d.background,
    outline: outline?.trim().toLowerCase() === 'none' ? 'none' : (parseColor(outline) ?? d.outline),
    font: oneOf(q.get('font'), ['sans', 'serif'] as const) ?? d.font,
    widthPct: number(q.get('width'), 20, 100) ?? d.widthPct,
  };
}

/** The CSS custom properties the overlay stylesheet reads. */
export function overlayCssVariables(style: OverlayStyle): Record<string, string> {
  const o = style.outline;
  return {
    '--overlay-size': `${style.sizePx}px`,
    '--overlay-justify': { top: 'flex-start', middle: 'center', bottom: 'flex-end' }[style.position],
    '--overlay-align': style.align,
    '--overlay-color': style.color,
    '--overlay-background': style.background,
    '--overlay-shadow':
      o === 'none'
        ? 'none'
        : `-2px -2px 0 ${o}, 2px -2px 0 ${o}, -2px 2px 0 ${o}, 2px 2px 0 ${o}, 0 0 8px ${o}`,
    '--overlay-font':
      style.font === 'serif'
        ? 'Georgia, "Times New Roman", serif'
        : 'system-ui, "Segoe UI", Roboto, sans-serif',
    '--overlay-width': `${style.widthPct}%`,
  };
}
