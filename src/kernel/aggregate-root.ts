/** A domain event as recorded by an aggregate; the outbox writer turns it into a row in the same transaction. */
export interface DomainEvent<Type extends string = string, Payload extends object = object> {
  readonly eventId: string;
  readonly eventType: Type;
  readonly aggregateId: string;
  readonly occurredAt: Date;
  /** The event's own fields (CONTRACT.md), without the envelope fields above. */
  readonly payload: Payload;
}

/** Records events while its methods run; the repository takes them (once) when it saves. */
export abstract class AggregateRoot<Event extends DomainEvent = DomainEvent> {
  private recorded: Event[] = [];

  protected record(event: Event): void {
    this.recorded.push(event);
  }

  pullEvents(): Event[] {
    const events = this.recorded;
    this.recorded = [];
    return events;
  }
}
