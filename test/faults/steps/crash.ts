import { setTimeout as sleep } from 'node:timers/promises';
import type { StepContext, StepDefinition } from '../support/step-harness.js';

const KILLS = Number(process.env.FAULTS_KILLS ?? 6);

/**
 * Four service processes with the roles split as replicas would run them: two take requests and relay the outbox,
 * two consume (saga replies, projection) and run the scheduled jobs; two customer-service simulators compete for
 * the saga requests.
 */
const PROCESSES = ['http,relay', 'http,relay', 'consumers,scheduler', 'consumers,scheduler'];

/**
 * Crash: 10,000 orders at a steady rate over four service processes while one of them is SIGKILLed at random
 * moments (KILLS times) and restarted after a random pause. Its twin (the other process with the same roles)
 * keeps working meanwhile, so the load's retries (same orderID) find a live one, and relays and consumers in two
 * processes compete for the same rows and queues throughout.
 */
export const crashStep: StepDefinition = {
  name: 'crash',
  processes: PROCESSES,
  simulators: 2,
  rate: Number(process.env.FAULTS_CRASH_RATE ?? 110),
  total: Number(process.env.FAULTS_CRASH_ORDERS ?? 10_000),
  users: 100,
  async fault(ctx) {
    const loadMs = (crashStep.total / crashStep.rate) * 1000;
    const started = Date.now();
    const moments = randomMoments(KILLS, 2_000, loadMs + 4_000, 3_000);
    ctx.notes.push(`service processes: ${PROCESSES.map((roles, i) => `service-${i + 1} ${roles}`).join('; ')}; ${ctx.simulators.length} competing customer-service simulators`);
    const kills: string[] = [];
    for (const at of moments) {
      await sleep(Math.max(0, started + at - Date.now()));
      const victim = await pickVictim(ctx);
      const pid = victim.pid;
      const killedAt = Date.now();
      ctx.log(`SIGKILL ${victim.spec.name} (pid ${pid})`);
      await victim.kill('SIGKILL');
      await sleep(200 + Math.floor(Math.random() * 2_000));
      await victim.start();
      ctx.log(`${victim.spec.name} up again (pid ${victim.pid})`);
      kills.push(`${victim.spec.name} (pid ${pid}) at ${((killedAt - started) / 1000).toFixed(1)} s, serving again after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
    }
    ctx.notes.push(`SIGKILL x${kills.length}: ${kills.join('; ')}`);
  },
};

/** `count` moments in [from, to] ms, sorted, at least `gap` apart (as far as the window allows). */
function randomMoments(count: number, from: number, to: number, gap: number): number[] {
  const slot = (to - from) / count;
  return Array.from({ length: count }, (_, i) => from + i * slot + Math.random() * Math.max(0, slot - gap));
}

/** A random process that is up while its twin (same roles) is up too, so that every role always runs somewhere. */
async function pickVictim(ctx: StepContext) {
  const rolesOf = (service: StepContext['services'][number]) => service.spec.env.ROLES;
  for (;;) {
    const up = ctx.services.filter((service) => service.isUp);
    const candidates = up.filter((service) => up.some((other) => other !== service && rolesOf(other) === rolesOf(service)));
    if (candidates.length > 0) return candidates[Math.floor(Math.random() * candidates.length)]!;
    await sleep(100);
  }
}
