import { z } from 'zod';
import { fromCents } from '../kernel/money.js';
import type { ProductState } from './product.js';

/** Product JSON exactly as the Go service answered it (note snake_case created_at). */
export const productJson = z
  .object({
    id: z.string(),
    name: z.string(),
    price: z.number(),
    discount: z.number().int(),
    quantity: z.literal(1),
    description: z.string(),
    availability: z.literal(true),
    created_at: z.string(),
  })
  .meta({ id: 'Product' });
export type ProductJson = z.output<typeof productJson>;

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
