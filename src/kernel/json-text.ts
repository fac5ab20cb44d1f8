/**
 * A result that is already JSON text (for example documents stored as JSON in Redis). The HTTP layer sends it
 * as it is: parsing it only to serialize it again cost a third of a projection read's CPU.
 */
export class JsonText {
  constructor(readonly text: string) {}

  /** For callers that do want the value (tests, logs). */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}
