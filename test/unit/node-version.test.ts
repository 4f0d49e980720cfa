import { describe, expect, it } from 'vitest';
import { nodeVersionProblem, REQUIRED_NODE } from '../../src/node-version';

describe('nodeVersionProblem', () => {
  it('accepts the required version and anything newer', () => {
    for (const v of [REQUIRED_NODE, '22.12.1', '22.23.5', '24.0.0', '26.12.1']) {
      expect(nodeVersionProblem(v)).toBeUndefined();
    }
  });

  it('names both versions in one line for anything older', () => {
    for (const v of ['20.20.2', '22.9.0', '22.11.99', '18.0.0']) {
      const line = nodeVersionProblem(v);
      expect(line).toContain(REQUIRED_NODE);
      expect(line).toContain(v);
      expect(line).not.toContain('\n');
    }
  });

  it('compares numerically, not as text', () => {
    expect(nodeVersionProblem('22.9.0')).toBeDefined();
    expect(nodeVersionProblem('100.0.0')).toBeUndefined();
  });
});
