// How the bridge calls a function. In-process: `direct` calls the step's invoke,
// which is what its Hono app's POST /invoke runs, without building a Request and a
// Response (about 40 µs a message); `fetch` goes through app.fetch, the HTTP edge
// included. Over HTTP: the same app served by @hono/node-server or deployed as a
// Lambda. Either way the answer is a StepResponse.
import { injectContext, type Context } from '../../shared/adapters/telemetry.ts';
import { StepResponse } from '../../shared/contract/result.ts';
import { ConfigError, type Env } from '../../shared/config.ts';
import { ATTEMPT_HEADER, exposedRuntime, type Step } from '../../shared/runtime/step.ts';

export interface InvokeMeta {
  /** JetStream's delivery count. */
  attempt: number;
  /** The bridge's span for this message: the function's span is its child. */
  trace: Context;
}

/** `cancel` aborts the invocation: the function stops and gives its claim back. */
export type Invoke = (data: Uint8Array, meta: InvokeMeta, cancel: AbortSignal) => Promise<StepResponse>;

export function direct(step: Step): Invoke {
  return (data, meta, cancel) => step.invoke(data, { attempt: meta.attempt, parent: meta.trace, signal: cancel });
}

export function viaAppFetch(step: Step, token = ''): Invoke {
  return async (data, meta, cancel) => {
    const own = follow(cancel);
    try {
      // The app's /invoke checks STEP_INVOKE_TOKEN when it is set, in-process too.
      const headers = headersFor(meta, token);
      // Known length: the app's body limit checks it instead of metering a stream.
      headers.set('content-length', String(data.byteLength));
      const req = new Request('http://in-process/invoke', { method: 'POST', headers, body: data as Uint8Array<ArrayBuffer>, signal: own.signal });
      return await readResponse(await step.app.fetch(req));
    } finally {
      own.done();
    }
  };
}

/**
 * Throws ConfigError without a token in production: the function it calls must require
 * one (assertInvokeToken), so calling without is either refused or, worse, accepted.
 */
export function overHttp(baseUrl: string, timeoutMs: number, token = '', env: Partial<Pick<Env, 'SWARM_ENV'>> = {}): Invoke {
  if (!token && exposedRuntime(env)) {
    throw new ConfigError([{ variable: 'STEP_INVOKE_TOKEN', message: `must be set in production to invoke functions over HTTP (${baseUrl})` }]);
  }
  const url = new URL('invoke', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  return async (data, meta, cancel) => {
    const own = follow(cancel);
    try {
      const signal = AbortSignal.any([own.signal, AbortSignal.timeout(timeoutMs)]);
      return await readResponse(await fetch(url, { method: 'POST', headers: headersFor(meta, token), body: data as Uint8Array<ArrayBuffer>, signal }));
    } finally {
      own.done();
    }
  };
}

function headersFor(meta: InvokeMeta, token: string): Headers {
  const h = new Headers({ 'content-type': 'application/json', [ATTEMPT_HEADER]: String(meta.attempt) });
  if (token) h.set('authorization', `Bearer ${token}`);
  injectContext(h, meta.trace);
  return h;
}

/**
 * A signal of our own that aborts with `cancel`. A Request holds on to the signal
 * it is given until it is garbage collected, so handing every Request the shared
 * one would pile listeners onto it.
 */
function follow(cancel: AbortSignal): { signal: AbortSignal; done(): void } {
  const own = new AbortController();
  const abort = () => own.abort(cancel.reason);
  cancel.addEventListener('abort', abort, { once: true });
  return { signal: own.signal, done: () => cancel.removeEventListener('abort', abort) };
}

async function readResponse(res: Response): Promise<StepResponse> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: handled below
  }
  const parsed = StepResponse.safeParse(json);
  if (parsed.success) return parsed.data;
  // Not a step's answer: a gateway error, a crashed function, a wrong URL. Worth
  // retrying, except a body the function refused as too large.
  return {
    ok: false,
    error: {
      class: res.status === 413 ? 'permanent' : 'transient',
      code: `http_${res.status}`,
      message: `function answered HTTP ${res.status} without a step response: ${text.slice(0, 200)}`,
    },
  };
}
