import type { Role } from '../config.js';
import type { Service } from './service.js';
import { startHttpRole } from './http-role.js';
import { startRelayRole } from './relay-role.js';
import { startSchedulerRole } from './scheduler-role.js';
import { startConsumersRole } from './consumers-role.js';

/** A started role: stop() finishes in-flight work and releases what the role holds. */
export interface RunningRole {
  name: Role;
  stop(): Promise<void>;
}

export type RoleStarter = (service: Service) => Promise<RunningRole>;

/** What each role starts; any set of them runs in one process (ROLES), each independent of the others. */
export const ROLE_STARTERS: Record<Role, RoleStarter> = {
  http: startHttpRole,
  relay: startRelayRole,
  consumers: startConsumersRole,
  scheduler: startSchedulerRole,
};
