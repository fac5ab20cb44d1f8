import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../tokens.js';
import { defineQuery, type Handler, type PayloadOf } from '../kernel/message.js';
import { NotFoundError } from '../kernel/errors.js';
import { listPage, listParams, type ListPage } from '../kernel/schemas.js';
import type { Database } from '../platform/database/database.js';
import { toProductJson, type ProductJson } from './product-json.js';
import type { ProductRepository } from './product-repository.js';

export const ListProducts = defineQuery('ListProducts', listParams).returning<ListPage<'products', ProductJson>>();
export const GetProductByName = defineQuery('GetProductByName', z.object({ productName: z.string().min(1) })).returning<ProductJson>();

/** Products sorted by price. */
@injectable()
export class ListProductsHandler implements Handler<typeof ListProducts> {
  constructor(
    @inject(TOKENS.ProductRepository) private readonly products: ProductRepository,
    @inject(TOKENS.Database) private readonly database: Database,
  ) {}

  async handle(params: PayloadOf<typeof ListProducts>): Promise<ListPage<'products', ProductJson>> {
    const { products, total } = await this.products.page(this.database, params);
    return listPage('products', products.map(toProductJson), total, params);
  }
}

@injectable()
export class GetProductByNameHandler implements Handler<typeof GetProductByName> {
  constructor(
    @inject(TOKENS.ProductRepository) private readonly products: ProductRepository,
    @inject(TOKENS.Database) private readonly database: Database,
  ) {}

  async handle({ productName }: PayloadOf<typeof GetProductByName>): Promise<ProductJson> {
    const product = await this.products.findByName(this.database, productName);
    if (!product) throw new NotFoundError('product not found', productName);
    return toProductJson(product.snapshot);
  }
}
