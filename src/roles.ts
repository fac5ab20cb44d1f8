import type { Role } from './config.js';
import type { Service } from './composition.js';
import { startHttpRole } from './http-role.js';
import { startRelayRole } from './outbox/relay-role.js';
import { startSchedulerRole } from './scheduler.js';
import { startConsumersRole } from './consumers-role.js';

/** A started role: stop() finishes in-flight work and releases what the role holds. */
export interface RunningRole {
  name: Role;
  stop(): Promise<void>;
}

export type RoleStarter = (service: Service) => Promise<RunningRole>;

/** Roles filled in by the outbox, saga and projection modules (see their issues); each is independent. */
export const ROLE_STARTERS: Record<Role, RoleStarter> = {
  http: startHttpRole,
  relay: startRelayRole,
  consumers: startConsumersRole,
  scheduler: startSchedulerRole,
};
