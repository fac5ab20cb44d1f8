import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';

describe('configuration', () => {
  it('when nothing is set, then the local defaults apply', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ PORT: 8000, ROLES: ['http', 'relay', 'consumers', 'scheduler'], SAGA_TIMEOUT: 300_000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when values are set, then they are parsed into their types', () => {
    const config = parseConfig({ PORT: '9000', ROLES: 'http, relay', SAGA_TIMEOUT: '1500ms', OUTBOX_RETENTION: '2d' });
    expect(config).toMatchObject({ PORT: 9000, ROLES: ['http', 'relay'], SAGA_TIMEOUT: 1500, OUTBOX_RETENTION: 172_800_000 });
  });

  it('when values are wrong, then starting fails with every problem named', () => {
    expect(() => parseConfig({ PORT: 'eighty', ROLES: 'http,web', SAGA_TIMEOUT: 'soon', DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    const message = messageOf(() => parseConfig({ PORT: 'eighty', ROLES: 'http,web', SAGA_TIMEOUT: 'soon' }));
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/unknown role\(s\) web/);
    expect(message).toMatch(/"soon" is not a duration/);
  });
});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}
