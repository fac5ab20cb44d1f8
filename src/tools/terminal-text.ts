/**
 * Text from a message (anyone who may publish could have written it) made fit for an operator's terminal: a
 * tool prints it, so an escape sequence in it must not clear the screen, move the cursor or reorder the line.
 */

/** C0 and C1 controls (but for tab and newline), DEL, and the bidi embeddings, overrides and isolates. */
const TERMINAL_ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Multi-line text as it came, but for what a terminal would act on, which is shown as \u escapes. */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_ACTIVE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value fit for one terminal line: newlines, tabs and other controls escaped (as in JSON), at most `max` characters. */
export function printable(text: string, max: number): string {
  const escaped = terminalSafe(JSON.stringify(text.slice(0, max)).slice(1, -1));
  return text.length > max ? `${escaped}...` : escaped;
}

/** At most `max` characters, "..." where it was cut. */
export function shortened(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
