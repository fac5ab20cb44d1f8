import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The import rules of docs/architecture.md ("Layout"), checked on the source, so that the document stays true.

interface SourceImport {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const file = path.join(directory, name);
    if (statSync(file).isDirectory()) return name === 'generated' ? [] : sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

/** Every relative import of src/, as paths relative to src/ without the extension. */
function imports(): SourceImport[] {
  return sourceFiles('src').flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/^import (type )?[^'";]*?from '(\.[^']+)'/gm)].map(([, type, target]) => ({
      from: path.relative('src', file).replace(/\.ts$/, ''),
      to: path.relative('src', path.resolve(path.dirname(file), target!)).replace(/\.js$/, ''),
      typeOnly: type !== undefined,
    }));
  });
}

const all = imports();
const under = (folder: string) => (name: string) => name === folder || name.startsWith(`${folder}/`);
const described = (list: SourceImport[]) => list.map(({ from, to }) => `${from} -> ${to}`);

describe('the layout rules of docs/architecture.md', () => {
  it('when the source is read, then it has imports to check (the scan works)', () => {
    expect(all.length).toBeGreaterThan(200);
    expect(all.some(({ from, to }) => from === 'serve' && to === 'composition/service')).toBe(true);
  });

  it('when the order domain imports, then only the kernel and itself', () => {
    const wrong = all.filter(({ from, to }) => under('orders/domain')(from) && !under('kernel')(to) && !under('orders/domain')(to));
    expect(described(wrong)).toEqual([]);
  });

  it('when the kernel imports from platform, then only types of the unit of work', () => {
    const wrong = all.filter(({ from, to }) => under('kernel')(from) && !under('kernel')(to) && to !== 'platform/database/unit-of-work');
    const values = all.filter(({ from, to, typeOnly }) => under('kernel')(from) && under('platform')(to) && !typeOnly);
    expect(described(wrong)).toEqual([]);
    expect(described(values)).toEqual([]);
  });

  it('when platform imports, then never a feature module', () => {
    const features = ['orders', 'catalog', 'customers', 'outbox', 'inbox', 'composition', 'tools'].map(under);
    const wrong = all.filter(({ from, to }) => under('platform')(from) && features.some((feature) => feature(to)));
    expect(described(wrong)).toEqual([]);
  });

  it('when a module imports the composition root, then it is main.ts (through serve.ts), a tool or the root itself', () => {
    const allowed = [under('composition'), under('tools'), (name: string) => name === 'main' || name === 'serve'];
    const wrong = all.filter(({ from, to }) => under('composition')(to) && !allowed.some((allow) => allow(from)));
    expect(described(wrong)).toEqual([]);
  });

  it('when a dependency-injection token exists, then something is built with it (no token is registered for nothing)', async () => {
    const { TOKENS } = await import('../../src/tokens.js');
    const code = sourceFiles('src')
      .filter((file) => !file.endsWith('tokens.ts') && !file.endsWith(path.join('composition', 'service.ts')))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const unused = Object.keys(TOKENS).filter((name) => !new RegExp(`TOKENS\\.${name}\\b`).test(code));
    expect(unused).toEqual([]);
  });

  it('when SQL is written, then it is in the module of the table it touches', () => {
    const withSql = sourceFiles('src')
      .filter((file) => /\bsql(<[^>]*>)?`/.test(readFileSync(file, 'utf8')))
      .map((file) => path.relative('src', file));
    expect(withSql.sort()).toEqual(
      [
        'catalog/product-repository.ts',
        'composition/service.ts', // the readiness probe: SELECT 1
        'customers/customer-repository.ts',
        'inbox/inbox-statements.ts',
        'orders/persistence/order-reads.ts',
        'orders/persistence/order-repository.ts',
        'orders/persistence/saga-reads.ts',
        'orders/persistence/saga-reply-log.ts',
        'outbox/outbox-maintenance.ts', // pg_notify after the operator's retry
        'outbox/persistence/outbox-reads.ts',
        'outbox/persistence/outbox-upkeep.ts',
        'outbox/persistence/outbox-writes.ts',
        'outbox/persistence/relay-cycle.ts',
        'platform/database/sql.ts',
      ].sort(),
    );
  });
});
