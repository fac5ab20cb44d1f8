import { z } from 'zod';
import { defineQuery } from '../kernel/message.js';
import type { Handler } from '../kernel/mediator.js';
import { NotFoundError } from '../kernel/errors.js';
import { listPage, listParams, type ListPage } from '../kernel/schemas.js';
import type { Database } from '../platform/database/prisma.js';
import { toProductJson, type ProductJson } from './product-json.js';

export const ListProducts = defineQuery<typeof listParams, ListPage<'products', ProductJson>>('ListProducts', listParams);

export const GetProductByName = defineQuery<z.ZodObject<{ productName: z.ZodString }>, ProductJson>(
  'GetProductByName',
  z.object({ productName: z.string().min(1) }),
);

/** Products sorted by price (id breaks ties so pages never overlap). */
export function listProductsHandler(database: Database): Handler<typeof ListProducts> {
  return async (params) => {
    const [rows, total] = await Promise.all([
      database.product.findMany({
        orderBy: [{ priceCents: params.order }, { id: params.order }],
        skip: params.offset,
        take: params.limit,
      }),
      database.product.count(),
    ]);
    return listPage('products', rows.map((row) => toProductJson({ ...row, priceCents: Number(row.priceCents) })), total, params);
  };
}

export function getProductByNameHandler(database: Database): Handler<typeof GetProductByName> {
  return async ({ productName }) => {
    const row = await database.product.findUnique({ where: { name: productName } });
    if (!row) throw new NotFoundError('product not found', productName);
    return toProductJson({ ...row, priceCents: Number(row.priceCents) });
  };
}
