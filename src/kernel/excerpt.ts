/** The most of a client's value that an error body or a log line repeats. */
export const EXCERPT_LENGTH = 100;

/**
 * A value as errors and logs may echo it: whole when short, else its first EXCERPT_LENGTH characters and a
 * note of how long it was. A hostile 1 MB id must not come back in the answer or fill the logs.
 */
export function excerpt(value: string, length = EXCERPT_LENGTH): string {
  if (value.length <= length) return value;
  // Never cut a surrogate pair in half: the result must stay well-formed text.
  const end = /[\ud800-\udbff]/.test(value[length - 1]!) ? length - 1 : length;
  return `${value.slice(0, end)}... (${value.length} characters)`;
}
