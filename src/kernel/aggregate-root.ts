/** A domain event as recorded by an aggregate; the outbox turns it into a row in the same unit of work. */
export interface DomainEvent<Type extends string = string, Payload extends object = object> {
  readonly eventId: string;
  readonly eventType: Type;
  readonly aggregateId: string;
  readonly occurredAt: Date;
  /** The event's own fields (the contract's), without the envelope fields above. */
  readonly payload: Payload;
}

/** An event with its place among all its aggregate's events (1 for the first one ever recorded). */
export interface SequencedEvent<Event extends DomainEvent = DomainEvent> {
  readonly event: Event;
  readonly sequence: number;
}

/**
 * Records events while its methods run; the repository takes them (once) when it saves. The aggregate knows how
 * many of its events are already stored (its version), so the events it records next continue that sequence.
 */
export abstract class AggregateRoot<Event extends DomainEvent = DomainEvent> {
  private recorded: Event[] = [];

  protected constructor(private storedEvents: number) {}

  /** How many of this aggregate's events are stored. */
  get version(): number {
    return this.storedEvents;
  }

  protected record(event: Event): void {
    this.recorded.push(event);
  }

  /** The events recorded since the last call, numbered after the stored ones; they count as stored from now on. */
  takeEvents(): SequencedEvent<Event>[] {
    const events = this.recorded.map((event, index) => ({ event, sequence: this.storedEvents + index + 1 }));
    this.recorded = [];
    this.storedEvents += events.length;
    return events;
  }
}
