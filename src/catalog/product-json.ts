import { z } from 'zod';
import { fromCents } from '../kernel/money.js';
import { listPageSchema, uuidAnswer } from '../kernel/schemas.js';
import type { ProductState } from './product.js';

/** Product JSON exactly as the Go service answered it (note snake_case created_at). */
export const productJson = z
  .object({
    id: uuidAnswer,
    name: z.string(),
    price: z.number(),
    discount: z.number().int().min(0).max(99).meta({ description: 'a percentage' }),
    quantity: z.literal(1),
    description: z.string(),
    availability: z.literal(true),
    created_at: z.iso.datetime(),
  })
  .meta({ id: 'Product' });
export type ProductJson = z.output<typeof productJson>;

/** A page of products: GET /products. */
export const productPage = listPageSchema('ProductPage', 'products', productJson);

export function toProductJson(product: Readonly<ProductState>): ProductJson {
  return {
    id: product.id,
    name: product.name,
    price: fromCents(product.priceCents),
    discount: product.discount,
    quantity: 1,
    description: product.description,
    availability: true,
    created_at: product.createdAt.toISOString(),
  };
}
