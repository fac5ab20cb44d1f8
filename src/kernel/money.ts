import { ValidationError } from './errors.js';

/** Upper bound for one price, so that sums of many lines stay exact in a JS number of cents. */
export const MAX_PRICE = 1_000_000_000;

/** A price in units with at most two decimals (90, 19.99) -> integer cents, or a ValidationError. */
export function toCents(price: number, field = 'price'): number {
  if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) {
    throw new ValidationError(`${field} must be a number greater than 0`, String(price));
  }
  if (price > MAX_PRICE) throw new ValidationError(`${field} must be at most ${MAX_PRICE}`, String(price));
  const cents = Math.round(price * 100);
  // A positive price too small to be a cent (1e-9, say) is within the decimals check's tolerance of 0 cents.
  if (cents < 1) throw new ValidationError(`${field} must be at least 0.01`, String(price));
  // price * 100 of a 2-decimal number lands within float noise of an integer; anything further has more decimals.
  if (Math.abs(price * 100 - cents) > 1e-6) {
    throw new ValidationError(`${field} must have at most 2 decimals`, String(price));
  }
  return cents;
}

/** Cents -> the JSON number clients see (9999 -> 99.99). */
export function fromCents(cents: number | bigint): number {
  return Number(cents) / 100;
}

/** The price after a percentage discount, rounded half up to a cent: 999 cents at 50% -> 500. */
export function discountedCents(priceCents: number, discountPercent: number): number {
  return Math.round((priceCents * (100 - discountPercent)) / 100);
}
