import { readFileSync } from 'node:fs';

export interface SchemaColumn {
  field: string;
  column: string;
  type: string;
  nullable: boolean;
  /** A scalar list (String[]): a PostgreSQL array. */
  list: boolean;
  nativeType?: string;
}
export interface SchemaModel {
  name: string;
  table: string;
  columns: SchemaColumn[];
}

/** Reads the models of prisma/schema.prisma: each scalar field's column name, Prisma type and nullability. */
export function readPrismaModels(path = 'prisma/schema.prisma'): SchemaModel[] {
  const text = readFileSync(path, 'utf8').replace(/\/\/.*$/gm, '');
  const blocks = [...text.matchAll(/model\s+(\w+)\s*\{([\s\S]*?)\n\}/g)];
  const modelNames = new Set(blocks.map((block) => block[1]!));
  return blocks.map(([, name, body]) => {
    const table = /@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? name!;
    const columns: SchemaColumn[] = [];
    for (const line of body!.split('\n').map((l) => l.trim())) {
      const match = /^(\w+)\s+(\w+)(\?|\[\])?(.*)$/.exec(line);
      if (!match || line.startsWith('@@')) continue;
      const [, field, type, modifier, attributes] = match;
      // A list of another model is a relation, not a column; a list of a scalar is an array column.
      if (modelNames.has(type!)) continue;
      columns.push({
        field: field!,
        column: /@map\("([^"]+)"\)/.exec(attributes!)?.[1] ?? field!,
        type: type!,
        nullable: modifier === '?',
        list: modifier === '[]',
        nativeType: /@db\.(\w+)/.exec(attributes!)?.[1],
      });
    }
    return { name: name!, table, columns };
  });
}
