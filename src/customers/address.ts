import { ValidationError } from '../kernel/errors.js';

export interface AddressFields {
  buildingNumber: number;
  streetName: string;
  city: string;
  country: string;
}

/** The one-line form used in Order JSON and events: "<country>, <city>, <streetName>, <buildingNumber>". */
export function fullAddress(address: AddressFields): string {
  return `${address.country}, ${address.city}, ${address.streetName}, ${address.buildingNumber}`;
}

/** An address's rules: a positive integer building number and non-empty street, city and country. */
export function checkAddress(address: AddressFields): AddressFields {
  if (!Number.isInteger(address.buildingNumber) || address.buildingNumber <= 0) {
    throw new ValidationError('buildingNumber must be an integer greater than 0', String(address.buildingNumber));
  }
  for (const field of ['streetName', 'city', 'country'] as const) {
    const value = address[field].trim();
    if (value.length === 0) throw new ValidationError(`${field} must not be empty`, address[field]);
  }
  return { buildingNumber: address.buildingNumber, streetName: address.streetName.trim(), city: address.city.trim(), country: address.country.trim() };
}
