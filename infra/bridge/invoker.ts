// How the bridge calls a function: in-process through the app's fetch (the same
// Hono app, no network), or over HTTP to the app served by @hono/node-server or
// deployed as a Lambda. Either way the answer is a StepResponse.
import { StepResponse } from '../../shared/contract/result.ts';
import type { Step } from '../../shared/runtime/step.ts';

/** `cancel` aborts the invocation: the function stops and gives its claim back. */
export type Invoke = (data: Uint8Array, headers: Headers, cancel: AbortSignal) => Promise<StepResponse>;

export function inProcess(step: Step): Invoke {
  return async (body, headers, signal) =>
    readResponse(await step.app.fetch(new Request('http://in-process/invoke', { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer>, signal })));
}

export function overHttp(baseUrl: string, timeoutMs: number): Invoke {
  const url = new URL('invoke', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  return async (body, headers, cancel) =>
    readResponse(
      await fetch(url, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer>, signal: AbortSignal.any([cancel, AbortSignal.timeout(timeoutMs)]) }),
    );
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
