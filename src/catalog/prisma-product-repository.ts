import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../tokens.js';
import type { Database } from '../platform/database/prisma.js';
import { reader, requireTransaction } from '../platform/database/transaction-context.js';
import { isUniqueViolation } from '../platform/database/database-errors.js';
import { ConflictError } from '../kernel/errors.js';
import { Product, type ProductState } from './product.js';

type ProductRow = { id: string; name: string; description: string; priceCents: bigint; discount: number; createdAt: Date };

function toState(row: ProductRow): ProductState {
  return { ...row, priceCents: Number(row.priceCents) };
}

@injectable()
export class PrismaProductRepository {
  constructor(@inject(TOKENS.Database) private readonly database: Database) {}

  async findById(id: string): Promise<Product | undefined> {
    const row = await reader(this.database).product.findUnique({ where: { id } });
    return row ? Product.restore(toState(row)) : undefined;
  }

  async findByName(name: string): Promise<Product | undefined> {
    const row = await reader(this.database).product.findUnique({ where: { name } });
    return row ? Product.restore(toState(row)) : undefined;
  }

  /** Inserts a new product; a concurrent insert of the same id or name becomes a 409, not a 500. */
  async insert(product: Product): Promise<void> {
    const s = product.snapshot;
    try {
      await requireTransaction().product.create({ data: { ...s, priceCents: BigInt(s.priceCents) } });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError('a product with this id or name already exists', s.id);
      throw error;
    }
  }

  async saveName(product: Product): Promise<void> {
    const { id, name } = product.snapshot;
    try {
      await requireTransaction().product.update({ where: { id }, data: { name } });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError('product name is taken', name);
      throw error;
    }
  }
}
