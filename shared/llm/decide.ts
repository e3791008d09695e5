// A Mastra tool-calling agent that must end by calling exactly one "decision"
// tool. Read tools answer from data the function already loaded, and decision
// tools only capture their arguments: the agent has no side effects of its own,
// so the function still writes everything in its one transaction (effectively
// once), whichever tier decided.
// Mastra is loaded on the first decision, not at import: it weighs ~200 MB of RSS (~80 MB
// of heap) in every process that imports a step, and the offline default never uses it.
import type { createTool } from '@mastra/core/tools';
import type { z } from 'zod';
import type { LanguageModel } from './model.ts';

export interface ReadTool {
  description: string;
  read: () => unknown;
}

export interface DecisionTool<S extends z.ZodObject> {
  description: string;
  input: S;
}

export interface Decision<K extends string = string> {
  tool: K;
  args: Record<string, unknown>;
}

export interface DecideOptions<K extends string> {
  id: string;
  instructions: string;
  prompt: string;
  reads?: Record<string, ReadTool>;
  decisions: Record<K, DecisionTool<z.ZodObject>>;
  maxSteps?: number;
  signal?: AbortSignal;
}

/** Run the agent; the first decision tool it calls is the answer (undefined if none). */
export async function decide<K extends string>(model: LanguageModel, o: DecideOptions<K>): Promise<Decision<K> | undefined> {
  let decision: Decision<K> | undefined;
  const [{ Agent }, { createTool }] = await Promise.all([import('@mastra/core/agent'), import('@mastra/core/tools')]);
  const tools: Record<string, ReturnType<typeof createTool>> = {};
  for (const [name, r] of Object.entries(o.reads ?? {}) as [string, ReadTool][]) {
    tools[name] = createTool({ id: name, description: r.description, execute: async () => r.read() });
  }
  for (const [name, d] of Object.entries(o.decisions) as [K, DecisionTool<z.ZodObject>][]) {
    tools[name] = createTool({
      id: name,
      description: d.description,
      inputSchema: d.input,
      execute: async (args) => {
        decision ??= { tool: name, args: args as Record<string, unknown> };
        return { recorded: true };
      },
    });
  }
  const agent = new Agent({ id: o.id, name: o.id, instructions: o.instructions, model, tools });
  await agent.generate(o.prompt, {
    maxSteps: o.maxSteps ?? 8,
    ...(o.signal ? { abortSignal: o.signal } : {}),
  });
  return decision;
}
