import { describe, expect, it } from 'vitest';
import { printable, shortened, terminalSafe } from '../../src/tools/terminal-text.js';

describe('text from messages printed to a terminal', () => {
  it('when a body holds escape sequences, C1 controls or bidi overrides, then they are shown as \\u escapes and lines and tabs stay', () => {
    expect(terminalSafe('{"a":1}\n\tnext')).toBe('{"a":1}\n\tnext');
    expect(terminalSafe('x\u001b[2Jy')).toBe('x\\u001b[2Jy');
    expect(terminalSafe('a\u009b31mb\u007f')).toBe('a\\u009b31mb\\u007f');
    expect(terminalSafe('pay \u202egnp.exe')).toBe('pay \\u202egnp.exe');
    expect(terminalSafe('\u2066isolated\u2069')).toBe('\\u2066isolated\\u2069');
    expect(terminalSafe('ünïcode ✓')).toBe('ünïcode ✓');
  });

  it('when a value is printed on one line, then newlines are escaped once and a long value is cut with "..."', () => {
    expect(printable('two\nlines', 100)).toBe('two\\nlines');
    expect(printable('quote " and \u001b', 100)).toBe('quote \\" and \\u001b');
    expect(printable('\u202eabc', 100)).toBe('\\u202eabc');
    expect(printable('abcdef', 3)).toBe('abc...');
    expect(shortened('{"k":"v"}', 4)).toBe('{"k"...');
    expect(shortened('short', 10)).toBe('short');
  });
});
