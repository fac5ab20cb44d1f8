import { z } from 'zod';

/** CONTRACT.md's error body: what is wrong, and the offending value or id. */
export const errorBody = z.object({ message: z.string(), data: z.string() }).meta({ id: 'Error' });
export type ErrorBody = z.output<typeof errorBody>;
