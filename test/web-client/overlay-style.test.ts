import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OVERLAY_STYLE,
  overlayCssVariables,
  parseColor,
  readOverlayStyle,
} from '../../web/src/overlay-style';

describe('caption overlay look from its address', () => {
  it('uses the defaults with no parameters', () => {
    expect(readOverlayStyle('?token=abc')).toEqual(DEFAULT_OVERLAY_STYLE);
  });

  it('reads every documented parameter', () => {
    expect(
      readOverlayStyle(
        '?size=72&position=top&align=left&color=ffcc00&background=transparent&outline=none&font=serif&width=60',
      ),
    ).toEqual({
      sizePx: 72,
      position: 'top',
      align: 'left',
      color: '#ffcc00',
      background: 'transparent',
      outline: 'none',
      font: 'serif',
      widthPct: 60,
    });
  });

  it('ignores bad values (never CSS injection) and keeps the defaults', () => {
    const style = readOverlayStyle(
      '?size=9999&position=left&color=red;background:url(x)&background=%23zzz&width=5&font=comic',
    );
    expect(style).toEqual(DEFAULT_OVERLAY_STYLE);
    expect(parseColor('#ABCDEF')).toBe('#abcdef');
    expect(parseColor('expression(alert(1))')).toBeNull();
    expect(overlayCssVariables(style)['--overlay-size']).toBe('48px');
  });
});
