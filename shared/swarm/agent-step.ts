// How an agent step is declared: defineStep with what follows from the step's name —
// it may emit its row of PUBLISHERS (shared/contract/messages.ts), runs within its
// budget (functions/budgets.ts, passed in: shared/ does not import functions/), and,
// with `holds`, waits out a paused scope and skips a closed one (./hold.ts).
//
// A step names one handler per message type it consumes (`on`); each receives the
// payload parsed by that type's schema, so no step parses, or dispatches on msg.type,
// by hand. A step that treats every type alike (status, the notifier's fan-out) gives
// `consumes` and one `handle` instead.
import type { Envelope } from '../contract/envelope.ts';
import { PUBLISHERS, payloadOf, type MessageName, type Payload, type Publisher } from '../contract/messages.ts';
import { defineStep, type Step, type StepContext, type StepDefinition, type StepOutput } from '../runtime/step.ts';
import { holdable, RELEASE_TYPE } from './hold.ts';

export type AgentName = Exclude<Publisher, 'api' | 'ticker'>;

export type MessageHandler<T extends MessageName> = (payload: Payload<T>, msg: Envelope, ctx: StepContext) => Promise<StepOutput | void>;

/** One handler per consumed type. */
export type Handlers = { [T in MessageName]?: MessageHandler<T> };

type Common = Omit<StepDefinition, 'name' | 'emits' | 'timeoutMs' | 'llm' | 'consumes' | 'handle'> & {
  /** Hold while the scope is paused, do nothing once it is closed: wraps the handlers and adds 'hold.released' to what the step consumes. */
  holds?: boolean;
};

export type AgentStepDefinition = Common & ({ on: Handlers } | Pick<StepDefinition, 'consumes' | 'handle'>);

/** The handler of msg.type, given its parsed payload (the runtime has checked the type is consumed). */
export function dispatch(on: Handlers): StepDefinition['handle'] {
  return async (msg, ctx) => {
    const type = msg.type as MessageName;
    const h = on[type] as MessageHandler<MessageName>;
    return h(payloadOf(type, msg.payload), msg, ctx);
  };
}

export function defineAgentStep(name: AgentName, budget: Pick<StepDefinition, 'timeoutMs' | 'llm'>, def: AgentStepDefinition): Step {
  const { holds, ...rest } = def;
  const consumes = 'on' in rest ? Object.keys(rest.on) : rest.consumes;
  const handle = 'on' in rest ? dispatch(rest.on) : rest.handle;
  return defineStep({
    ...rest,
    name,
    emits: PUBLISHERS[name],
    timeoutMs: budget.timeoutMs,
    llm: budget.llm,
    consumes: holds ? [...consumes, RELEASE_TYPE] : consumes,
    handle: holds ? holdable(handle) : handle,
  });
}
