import { injectable } from 'tsyringe';
import { sql } from '../platform/database/sql.js';
import type { Reader, UnitOfWork } from '../platform/database/unit-of-work.js';
import { conflictOnDuplicate } from '../platform/database/database-errors.js';
import type { ListParams } from '../kernel/schemas.js';
import { Product, type ProductState } from './product.js';

const COLUMNS = sql`id, name, description, price_cents AS "priceCents", discount, created_at AS "createdAt"`;

/** Every statement on the `products` table: reads through any Reader, writes in a command's unit of work. */
@injectable()
export class ProductRepository {
  async findById(reader: Reader, id: string): Promise<Product | undefined> {
    const [row] = await reader.read(sql<ProductState>`SELECT ${COLUMNS} FROM products WHERE id = ${id}::uuid`);
    return row && Product.restore(row);
  }

  async findByName(reader: Reader, name: string): Promise<Product | undefined> {
    const [row] = await reader.read(sql<ProductState>`SELECT ${COLUMNS} FROM products WHERE name = ${name}`);
    return row && Product.restore(row);
  }

  /** A page of products by price (id breaks ties, so pages never overlap), and how many there are in all. */
  async page(reader: Reader, params: ListParams): Promise<{ products: ProductState[]; total: number }> {
    const direction = params.order === 'desc' ? sql`DESC` : sql`ASC`;
    const [products, [count]] = await Promise.all([
      reader.read(sql<ProductState>`SELECT ${COLUMNS} FROM products ORDER BY price_cents ${direction}, id ${direction} LIMIT ${params.limit} OFFSET ${params.offset}`),
      reader.read(sql<{ total: number }>`SELECT count(*)::int AS total FROM products`),
    ]);
    return { products, total: count?.total ?? 0 };
  }

  /** Inserts a new product; a concurrent insert of the same id or name becomes a 409, not a 500. */
  async insert(unit: UnitOfWork, product: Product): Promise<void> {
    const s = product.snapshot;
    await conflictOnDuplicate('a product with this id or name already exists', s.id, () =>
      unit.write(sql`
        INSERT INTO products (id, name, description, price_cents, discount, created_at)
        VALUES (${s.id}::uuid, ${s.name}, ${s.description}, ${s.priceCents}, ${s.discount}, ${s.createdAt}::timestamptz)`),
    );
  }

  async saveName(unit: UnitOfWork, product: Product): Promise<void> {
    const { id, name } = product.snapshot;
    await conflictOnDuplicate('product name is taken', name, () => unit.write(sql`UPDATE products SET name = ${name} WHERE id = ${id}::uuid`));
  }
}
