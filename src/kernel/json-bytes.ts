/**
 * A result that is already JSON, as UTF-8 bytes (for example documents stored as JSON in Redis, read as buffers).
 * The HTTP layer sends the bytes as they are: parsing them only to serialize again cost a third of a projection
 * read's CPU, and decoding them to a string only to encode it again cost another tenth.
 */
export class JsonBytes {
  constructor(readonly bytes: Buffer) {}

  /** For callers that do want the value (tests, logs). */
  toJSON(): unknown {
    return JSON.parse(this.bytes.toString('utf8'));
  }
}
