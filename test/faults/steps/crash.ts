import { setTimeout as sleep } from 'node:timers/promises';
import type { StepContext, StepDefinition } from '../support/step-harness.js';

const KILLS = Number(process.env.FAULTS_KILLS ?? 6);

/**
 * Crash: 10,000 orders at a steady rate over two processes of every role while one of them is SIGKILLed at
 * random moments (KILLS times) and restarted after a random pause. The other process keeps serving meanwhile,
 * so the load's retries (same orderID) find a live one.
 */
export const crashStep: StepDefinition = {
  name: 'crash',
  rate: Number(process.env.FAULTS_CRASH_RATE ?? 110),
  total: Number(process.env.FAULTS_CRASH_ORDERS ?? 10_000),
  users: 100,
  async fault(ctx) {
    const loadMs = (crashStep.total / crashStep.rate) * 1000;
    const started = Date.now();
    const moments = randomMoments(KILLS, 2_000, loadMs + 4_000, 3_000);
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

/** A random process that is up while another one is up too, so that one always serves. */
async function pickVictim(ctx: StepContext) {
  for (;;) {
    const up = ctx.services.filter((service) => service.isUp);
    if (up.length >= 2) return up[Math.floor(Math.random() * up.length)]!;
    await sleep(100);
  }
}
