// A step is a stateless function of one message. defineStep turns a handler into
// `invoke` (envelope in, StepResponse out), a Hono app exposing it (POST
// /invoke, GET /healthz) and the Lambda handler for that app. The bridge calls
// invoke in-process, or the app through app.fetch or over HTTP; Lambda runs the
// app through hono/aws-lambda. A function module is:
//   export const step = defineStep({ name, consumes, emits, handle(msg, ctx) { ... } });
//   export const { app, handler } = step;
//
// Effectively-once, per message (see ./inbox/store.ts):
//   1. claim the message in the inbox; if it was already completed, return the
//      stored result without running anything (`replayed: true`);
//   2. run the handler: reads and slow calls (LLM, S3) outside any transaction,
//      then ctx.commit(tx => writes), which marks the inbox record completed and
//      runs the writes in ONE Postgres transaction;
//   3. on failure, give the claim back so the retry can run at once.
// A claim is a short lease (INBOX_LEASE_MS) that a heartbeat renews while the
// handler runs: a run that dies (kill -9) holds the message up for one lease, not
// for the step's whole timeout.
// Fast steps may skip the claim (`idempotency: 'optimistic'`): the record is then
// inserted with the writes, and a duplicate run rolls back at commit.
import type { Tx } from '../adapters/db.ts';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { handle as lambdaHandle } from 'hono/aws-lambda';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { SpanKind, context as otelContext, extractContext, inSpan, type Context } from '../adapters/telemetry.ts';
import { MAX_ENVELOPE_BYTES, MessageType, decodeEnvelope, type Emit, type Envelope } from '../contract/envelope.ts';
import { PermanentError, TransientError, classify, type StepError } from '../contract/errors.ts';
import { STATUS, type StepFailure, type StepResponse, type StepSuccess } from '../contract/result.ts';
import { ConfigError, config, type Env } from '../config.ts';
import { logger, type Logger } from '../log.ts';
import { stepDeadlineMs, type LlmRole } from '../llm/roles.ts';
import { processDeps, type Deps } from './deps.ts';
import { toEnvelopes } from './emit.ts';
import { ClaimLostError, type IdempotencyStore, type InboxKey, type Statement, type StoredResult } from './inbox/store.ts';

export type Idempotency =
  /** Take an in-progress claim before running: a slow or costly step never runs twice at once. The default. */
  | 'claim'
  /** No claim; the inbox record is inserted with the writes, in one transaction. For fast steps whose only effect is their writes. */
  | 'optimistic'
  /** No inbox: for steps without effects. */
  | 'none';

export interface StepOutput {
  /** Messages to publish after the step succeeded; their ids are derived. */
  emit?: z.input<typeof Emit>[];
  /** A small summary, stored in the inbox and logged; not published. */
  result?: unknown;
}

export interface StepContext {
  readonly step: string;
  /** Delivery attempt, 1-based. */
  readonly attempt: number;
  /** Aborted when the step's time is up. Pass it to slow calls. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** The dependency container (clients, policies, stores, models...): read what the step needs from it. */
  readonly deps: Deps;
  /**
   * Run `writes` in one transaction together with the inbox's completion record,
   * and return what it returns, which becomes the step's output: call it last,
   * once, as `return ctx.commit(async (tx) => { ...; return { emit } })`.
   */
  commit<T extends StepOutput | void>(writes: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * The fast path for steps whose writes are ONE SQL statement and need nothing
   * back from it: with `idempotency: 'optimistic'` the statement and the inbox
   * record go to Postgres as one statement, one round trip (otherwise it is
   * commit(tx => tx.query(statement)) under another name). Returns `output`.
   */
  commitStatement<T extends StepOutput | void>(statement: Statement, output?: T): Promise<T | undefined>;
}

export interface StepDefinition {
  /** Lower-case name; the consumer is fn-<name>. */
  name: string;
  /** Envelope types this step consumes. */
  consumes: readonly string[];
  /** Envelope types this step may emit (its row of PUBLISHERS in contract/messages.ts); any other is refused. */
  emits: readonly string[];
  /**
   * Longest the step's own work may take (default 30 s); the timeouts of its `llm` roles
   * are added to it. The bridge keeps the message alive meanwhile.
   */
  timeoutMs?: number;
  /** The LLM roles the step calls in sequence (shared/llm/roles.ts): its deadline covers each one's timeout. */
  llm?: readonly LlmRole[];
  idempotency?: Idempotency;
  /**
   * Commit together with other messages of this step that commit at the same time,
   * in one transaction (shared/runtime/inbox/grouping.ts; default true). false for a
   * step whose writes run long or hold a lock others wait on: every other member of
   * its group would wait for them.
   */
  groupCommit?: boolean;
  handle(msg: Envelope, ctx: StepContext): Promise<StepOutput | void>;
}

export interface InvokeOptions {
  /** JetStream's delivery count, when the bridge knows it. */
  attempt?: number;
  /** Trace context of the caller. */
  parent?: Context;
  /** The caller gave up (the bridge is shutting down, the HTTP client went away): stop, release the claim. */
  signal?: AbortSignal;
}

export interface Step {
  readonly name: string;
  readonly consumes: readonly string[];
  readonly emits: readonly string[];
  /** The whole deadline: the step's own work plus its LLM roles' timeouts under its configuration. */
  readonly timeoutMs: number;
  readonly idempotency: Idempotency;
  /** POST /invoke (an envelope in, a StepResponse out: 200 / 422 permanent / 503 transient), GET /healthz. */
  readonly app: Hono;
  /**
   * The app as an AWS Lambda handler (API Gateway v1/v2, function URL, ALB). Built on
   * first read; on Lambda that read checks the invoke token, so a module exporting it
   * at top level fails its cold start without one instead of serving an open /invoke.
   */
  readonly handler: LambdaHandler;
  /** What /invoke does, without HTTP. */
  invoke(raw: string | Uint8Array, opts?: InvokeOptions): Promise<StepResponse>;
  /** The same step bound to other dependencies (tests). */
  withDeps(deps: Deps): Step;
}

export type LambdaHandler = ReturnType<typeof lambdaHandle>;

/** Header through which the bridge passes JetStream's delivery count. */
export const ATTEMPT_HEADER = 'x-gswarm-attempt';

/** Per-process key: both sides are reduced to 32-byte MACs, so neither the token's length nor where a guess differs shows in timing. */
const MAC_KEY = randomBytes(32);
const mac = (s: string) => createHmac('sha256', MAC_KEY).update(s, 'utf8').digest();

export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(mac(a), mac(b));
}

/**
 * Where a step's /invoke can be reached by strangers: production (SWARM_ENV or
 * NODE_ENV), or AWS Lambda (a function URL is public).
 */
export function exposedRuntime(env: Partial<Pick<Env, 'SWARM_ENV'>>, proc: NodeJS.ProcessEnv = process.env): boolean {
  return env.SWARM_ENV === 'production' || proc.NODE_ENV === 'production' || Boolean(proc.AWS_LAMBDA_FUNCTION_NAME);
}

/**
 * Throws ConfigError where /invoke would be served without its token: an open
 * /invoke lets anyone run any step on any scope. Called when a step is served
 * (serveStep, the Lambda handler at cold start) and by the bridge before it calls a
 * function over HTTP.
 */
export function assertInvokeToken(env: Pick<Env, 'SWARM_ENV' | 'STEP_INVOKE_TOKEN'>, proc: NodeJS.ProcessEnv = process.env): void {
  if (!env.STEP_INVOKE_TOKEN && exposedRuntime(env, proc)) {
    throw new ConfigError([{ variable: 'STEP_INVOKE_TOKEN', message: 'must be set in production and on Lambda: POST /invoke would run steps for anyone' }]);
  }
}
/** A claim outlives the step's timeout by this much, so it never expires under a run that is still allowed. */
const claimMarginMs = (timeoutMs: number) => Math.min(5_000, timeoutMs);
/** The claim's lease: INBOX_LEASE_MS, or less for a step that cannot run that long anyway. */
const leaseMs = (timeoutMs: number, configured: number) => Math.min(configured, timeoutMs + claimMarginMs(timeoutMs));

export function defineStep(def: StepDefinition, deps?: Deps): Step {
  if (!/^[a-z][a-z0-9-]{0,47}$/.test(def.name)) throw new Error(`step name ${JSON.stringify(def.name)}: expected [a-z][a-z0-9-]*`);
  for (const t of [...def.consumes, ...def.emits]) MessageType.parse(t);
  const idempotency = def.idempotency ?? 'claim';
  const getDeps = () => deps ?? processDeps();
  // Read from the configuration when first needed, not when the module loads.
  let deadlineMs: number | undefined;
  const timeoutMs = () => (deadlineMs ??= stepDeadlineMs(def, getDeps().env));

  const invoke = (raw: string | Uint8Array, opts: InvokeOptions = {}) =>
    run(def, timeoutMs(), idempotency, getDeps(), raw, opts);

  const app = new Hono();
  app.post(
    '/invoke',
    // Deployed steps sit behind public function URLs: only a caller holding the
    // bridge's token may invoke them. Unset locally; where it must be set, serving
    // refuses to start without it (assertInvokeToken).
    async (c, next) => {
      const token = getDeps().env.STEP_INVOKE_TOKEN;
      if (token && !sameSecret(c.req.header('authorization') ?? '', `Bearer ${token}`)) {
        // Transient: a token mismatch is a deployment fault; the message waits for the fix.
        return c.json(failure(new TransientError('unauthorized', 'missing or wrong bearer token (STEP_INVOKE_TOKEN)')), 401);
      }
      await next();
    },
    // Refuse an oversized body before reading it, with the same answer decodeEnvelope gives.
    bodyLimit({
      maxSize: MAX_ENVELOPE_BYTES,
      onError: (c) =>
        c.json(failure(new PermanentError('envelope_too_large', `envelope is more than the ${MAX_ENVELOPE_BYTES} bytes allowed; put large content in S3 and send its key`)), STATUS.permanent),
    }),
    async (c) => {
      const attempt = Number(c.req.header(ATTEMPT_HEADER)) || undefined;
      const res = await invoke(await c.req.text(), { attempt, parent: extractContext(c.req.raw.headers), signal: c.req.raw.signal });
      return c.json(res, res.ok ? STATUS.ok : STATUS[res.error.class]);
    },
  );
  app.get('/healthz', (c) => c.json({ ok: true, step: def.name }));

  let handler: LambdaHandler | undefined;
  return {
    name: def.name,
    consumes: def.consumes,
    emits: def.emits,
    get timeoutMs() {
      return timeoutMs();
    },
    idempotency,
    app,
    get handler() {
      if (!handler) {
        // Elsewhere (the bridge importing the module to run the step in-process) nothing is checked here.
        if (process.env.AWS_LAMBDA_FUNCTION_NAME) assertInvokeToken(config());
        handler = lambdaHandle(app);
      }
      return handler;
    },
    invoke,
    withDeps: (d) => defineStep(def, d),
  };
}


const success = (stored: StoredResult, replayed: boolean): StepSuccess => ({ ok: true, emit: stored.emit, result: stored.result, replayed });
const failure = (e: StepError): StepFailure => ({
  ok: false,
  error: {
    class: e.errorClass,
    code: e.code,
    message: e.message,
    ...(e.retryKind ? { kind: e.retryKind } : {}),
    ...(e instanceof TransientError && e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
  },
});

async function run(
  def: StepDefinition,
  timeoutMs: number,
  idempotency: Idempotency,
  deps: Deps,
  raw: string | Uint8Array,
  opts: InvokeOptions,
): Promise<StepResponse> {
  let msg: Envelope;
  try {
    msg = decodeEnvelope(raw, opts.attempt);
    if (!def.consumes.includes(msg.type)) throw new PermanentError('unexpected_type', `step ${def.name} does not consume ${msg.type}`);
  } catch (err) {
    return failure(classify(err));
  }
  const attributes = { 'messaging.message.id': msg.id, 'gswarm.scope': msg.scope, 'gswarm.type': msg.type, 'gswarm.attempt': msg.attempt };
  return inSpan(`step ${def.name}`, { kind: SpanKind.SERVER, attributes }, opts.parent ?? otelContext.active(), async (span) => {
    const res = await runOnce(def, timeoutMs, idempotency, deps, msg, opts.signal);
    span.setAttribute('gswarm.outcome', res.ok ? (res.replayed ? 'replayed' : 'ok') : res.error.class);
    return res;
  });
}

async function runOnce(
  def: StepDefinition,
  timeoutMs: number,
  idempotency: Idempotency,
  deps: Deps,
  msg: Envelope,
  cancel: AbortSignal | undefined,
): Promise<StepResponse> {
  const inbox = idempotency === 'none' ? undefined : deps.inbox;
  const key: InboxKey = { consumer: def.name, messageId: msg.id, scope: msg.scope };
  const ttlMs = deps.env.INBOX_TTL_MS;
  const group = def.groupCommit !== false;
  const toStored = (out: StepOutput | void | undefined): StoredResult => ({
    emit: toEnvelopes(def.name, msg, out?.emit, def.emits),
    ...(out?.result !== undefined ? { result: out.result } : {}),
  });

  // 1. Done before? Claim mode learns it from the claim itself; optimistic mode
  //    looks only for redeliveries (a first delivery that duplicates an earlier
  //    publish is caught by the commit, which then rolls back).
  let token: string | undefined;
  const lease = leaseMs(timeoutMs, deps.env.INBOX_LEASE_MS);
  try {
    if (inbox && idempotency === 'claim') {
      const c = await inbox.claim(key, lease);
      if (c.kind === 'completed') return success(c.stored, true);
      if (c.kind === 'in_progress') {
        // Come back when that run's claim expires, not before: retrying sooner only spends deliveries.
        const f = failure(new TransientError('in_progress', `${msg.id} is being handled by another run until ${c.until.toISOString()}`));
        f.error.retryAfterMs = Math.max(0, c.until.getTime() - Date.now()) + 100;
        return f;
      }
      token = c.token;
    } else if (inbox && msg.attempt > 1) {
      const stored = await inbox.get(key);
      if (stored) return success(stored, true);
    }
  } catch (err) {
    return failure(classify(err));
  }

  // 2. Run, within the time allowed, renewing the claim's lease meanwhile.
  const deadline = new Deadline(timeoutMs, def.name, cancel);
  const heartbeat =
    inbox && token !== undefined
      ? new Heartbeat(inbox, key, token, lease, () =>
          // Someone else holds the message now: stop, their run stands (contention).
          deadline.end(new TransientError('claim_lost', `the claim on ${msg.id} lapsed and another run took it over`)),
        )
      : undefined;
  let committed: StoredResult | undefined;
  let log: Logger | undefined;
  const ctx: StepContext = {
    step: def.name,
    attempt: msg.attempt,
    get signal() {
      return deadline.signal;
    },
    get log() {
      return (log ??= logger('step', { step: def.name, msg: msg.id, scope: msg.scope, attempt: msg.attempt }));
    },
    deps,
    async commit<T extends StepOutput | void>(writes: (tx: Tx) => Promise<T>): Promise<T> {
      if (committed) throw new Error(`step ${def.name} called commit twice`);
      if (deadline.ended) throw new TransientError('timeout', `step ${def.name} ran out of time before committing`);
      // The commit completes the record (or finds it lost) itself; a renewal racing it would read as a lost claim.
      heartbeat?.stop();
      if (!inbox) {
        const value = await deps.db.transaction<T>(writes);
        committed = toStored(value);
        return value;
      }
      const out = await inbox.commit<T>({ key, token, writes, toStored, ttlMs, group });
      if (!out.committed) throw new ClaimLostError(out.stored);
      committed = out.stored;
      return out.value;
    },
    async commitStatement<T extends StepOutput | void>(statement: Statement, output?: T): Promise<T | undefined> {
      if (!(idempotency === 'optimistic' && inbox?.commitStatement)) {
        return ctx.commit(async (tx) => (await tx.query(statement.text, statement.values), output as T));
      }
      if (committed) throw new Error(`step ${def.name} called commit twice`);
      if (deadline.ended) throw new TransientError('timeout', `step ${def.name} ran out of time before committing`);
      heartbeat?.stop();
      const out = await inbox.commitStatement({ key, statement, stored: toStored(output), ttlMs });
      if (!out.committed) throw new ClaimLostError(out.stored);
      committed = out.stored;
      return output;
    },
  };
  try {
    const output = await deadline.race(def.handle(msg, ctx));
    heartbeat?.stop();
    if (committed) return success(committed, false);
    // The handler wrote nothing through commit: complete the record on its behalf.
    if (!inbox) return success(toStored(output), false);
    const out = await inbox.commit({ key, token, writes: undefined, toStored: () => toStored(output), ttlMs, group });
    return success(out.stored, !out.committed);
  } catch (err) {
    if (err instanceof ClaimLostError) return success(err.stored, true);
    // The writes are durable: what failed after them cannot undo them, so report them.
    if (committed) {
      ctx.log.warn({ err }, 'step failed after its commit; its committed result stands');
      return success(committed, false);
    }
    // 3. Give the claim back so that the retry need not wait for it to expire.
    if (inbox && token) await inbox.release(key, token).catch(() => {});
    return failure(classify(err));
  } finally {
    heartbeat?.stop();
    deadline.dispose();
  }
}

/**
 * Renews a claim's lease every third of it while the step runs. A renewal that
 * fails (Postgres unreachable) is tried again at the next beat; one that finds the
 * claim gone (it lapsed and another run took it over) calls onLost once.
 */
class Heartbeat {
  readonly #timer: NodeJS.Timeout;
  #stopped = false;
  #busy = false;

  constructor(
    private readonly inbox: Pick<IdempotencyStore, 'renew'>,
    private readonly key: InboxKey,
    private readonly token: string,
    private readonly leaseMs: number,
    private readonly onLost: () => void,
  ) {
    this.#timer = setInterval(() => void this.#beat(), Math.max(20, Math.floor(leaseMs / 3)));
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      const held = await this.inbox.renew(this.key, this.token, this.leaseMs);
      if (!held && !this.#stopped) {
        this.stop();
        this.onLost();
      }
    } catch {
      // Unreachable store: the lease may lapse; the commit checks the token anyway.
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}

/**
 * The step's time limit and the caller's cancellation. The AbortSignal handed to
 * the handler is only made if the handler asks for it: most fast steps never do,
 * and an AbortController per message is a measurable cost at 10,000 msg/s.
 */
class Deadline {
  #reason: StepError | undefined;
  #controller: AbortController | undefined;
  #reject: ((reason: unknown) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #onCancel: () => void;

  constructor(
    ms: number,
    step: string,
    private readonly cancel: AbortSignal | undefined,
  ) {
    this.#timer = setTimeout(() => this.#end(new TransientError('timeout', `step ${step} took longer than ${ms} ms`)), ms);
    this.#onCancel = () => this.#end(new TransientError('cancelled', `the caller stopped waiting for step ${step}`));
    if (cancel?.aborted) this.#onCancel();
    else cancel?.addEventListener('abort', this.#onCancel, { once: true });
  }

  get ended(): boolean {
    return this.#reason !== undefined;
  }

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.#reason) this.#controller.abort(this.#reason);
    return this.#controller.signal;
  }

  /** Settle with p, or reject as soon as the deadline ends. */
  race<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#reason) return reject(this.#reason);
      this.#reject = reject;
      p.then(resolve, reject);
    });
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.cancel?.removeEventListener('abort', this.#onCancel);
  }

  /** End the run early (the claim was lost). */
  end(reason: StepError): void {
    this.#end(reason);
  }

  #end(reason: StepError): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#reject?.(reason);
  }
}
