// Function modules named by path (BRIDGE_FUNCTIONS, serve.ts): each exports `step`
// (from defineStep), `app` and `handler`. The swarm's own list is functions/registry.ts.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Step } from './step.ts';

export async function loadStep(path: string): Promise<Step> {
  const step = await loadModuleStep(path);
  if (!step) throw new Error(`${path} does not export a step (export const step = defineStep(...))`);
  return step;
}

/** The module's step; null for a function that is an HTTP app only (the API), which the bridge does not run. */
async function loadModuleStep(path: string): Promise<Step | null> {
  const abs = isAbsolute(path) ? path : resolve(process.cwd(), path);
  const mod = (await import(pathToFileURL(abs).href)) as { step?: Step; app?: unknown };
  if (mod.step && typeof mod.step.invoke === 'function') return mod.step;
  if (!mod.step && mod.app) return null;
  throw new Error(`${path} does not export a step (export const step = defineStep(...))`);
}

export async function loadSteps(paths: readonly string[]): Promise<Step[]> {
  const steps = (await Promise.all(paths.map(loadModuleStep))).filter((s): s is Step => s !== null);
  const seen = new Set<string>();
  for (const s of steps) {
    if (seen.has(s.name)) throw new Error(`two function modules define the step ${s.name}`);
    seen.add(s.name);
  }
  return steps;
}
