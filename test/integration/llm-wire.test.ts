// The LLM path over the wire: a small local server speaking the OpenAI chat-completions
// format (with tool calls) answers from a script, and the facts step talks to it through
// the configured provider (LLM_PROVIDER=openai-compatible), as it would to a real
// endpoint — so the provider, the request the model sees, the timeout and the circuit
// breaker are exercised over HTTP, not only through the in-memory mock.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as facts } from '../../functions/facts/index.ts';
import { resetBreakers } from '../../shared/adapters/resilience.ts';
import { modelFromConfig } from '../../shared/llm/model.ts';
import { queryNodes } from '../../shared/store/graph.ts';
import { acme, envelope, logEntries, run, swarmTestEnv, type SwarmTestEnv } from '../support/swarm.ts';

type Reply = { toolCall: { name: string; args: unknown } } | { text: string } | { status: number } | { hangMs: number };

let t: SwarmTestEnv;
let server: Server;
let baseUrl: string;
let script: Reply[] = [];
const requests: { path: string; auth: string | undefined; body: { model: string; messages: { role: string; content: unknown }[]; tools?: { function: { name: string } }[] } }[] = [];

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
  });

function completion(message: Record<string, unknown>, finish: string) {
  return { id: `chatcmpl-${requests.length}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: 'scripted', choices: [{ index: 0, message, finish_reason: finish }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } };
}

beforeAll(async () => {
  t = await swarmTestEnv();
  server = createServer(async (req, res) => {
    const body = JSON.parse(await readBody(req));
    requests.push({ path: req.url ?? '', auth: req.headers.authorization, body });
    const reply = script.shift() ?? { text: 'Done.' };
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'scripted failure', type: 'server_error' } }));
      return;
    }
    if ('hangMs' in reply) {
      const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion({ role: 'assistant', content: 'late' }, 'stop'))), reply.hangMs);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    const message = 'toolCall' in reply
      ? { role: 'assistant', content: null, tool_calls: [{ id: `call_${requests.length}`, type: 'function', function: { name: reply.toolCall.name, arguments: JSON.stringify(reply.toolCall.args) } }] }
      : { role: 'assistant', content: reply.text };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion(message, 'toolCall' in reply ? 'tool_calls' : 'stop')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await t?.close();
});
beforeEach(() => {
  resetBreakers();
  script = [];
  requests.length = 0;
});

const model = () => modelFromConfig({ LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: baseUrl, LLM_MODEL: 'scripted-model', LLM_API_KEY: 'sk-test' })!;
const recordFacts = (figures: unknown[]) => ({
  toolCall: { name: 'recordFacts', args: { figures, claims: [], goals: [], goal_updates: [], risks: [], assumptions: [], revisions: [] } },
});

describe('facts over a chat-completions endpoint', () => {
  it('sends the document and the tool, stores what the model recorded and the text confirms, drops the rest', async () => {
    const scope = await t.scope('wire-');
    script = [
      recordFacts([
        { quote: 'Revenue for Q3 was $2.1M', subject: 'Q3 revenue', value: 2100000, unit: 'USD', period: 'Q3' },
        { quote: 'Revenue for Q3 was $9.9M', subject: 'Q3 revenue', value: 9900000, unit: 'USD' },
      ]),
      { text: 'Recorded.' },
    ];
    const res = await run(facts, t.depsWith({ model: model(), llmTimeoutMs: 10_000 }), envelope('doc.submitted', scope, acme(1)));
    expect(res.result).toMatchObject({ tier: 'llm', claims: 1, llm_dropped: 1 });

    // The request as a real endpoint would see it: the model, the key, the document, the decision tool.
    const first = requests[0]!;
    expect(first.path).toBe('/v1/chat/completions');
    expect(first.auth).toBe('Bearer sk-test');
    expect(first.body.model).toBe('scripted-model');
    expect(JSON.stringify(first.body.messages)).toContain('Revenue for Q3 was $2.1M');
    expect(first.body.tools?.map((x) => x.function.name)).toContain('recordFacts');
    const claims = await queryNodes(t.guarded, scope, { kinds: ['claim'] });
    expect(claims.map((c) => c.content)).toEqual(['Revenue for Q3 was $2.1M']);
    expect(claims[0]).toMatchObject({ metric: 'USD', value: { value: 2_100_000 } });
  });

  it('a model slower than LLM_TIMEOUT_MS: the offline extractor decides, and the reason is recorded', async () => {
    const scope = await t.scope('wire-slow-');
    script = [{ hangMs: 5_000 }];
    const t0 = Date.now();
    const res = await run(facts, t.depsWith({ model: model(), llmTimeoutMs: 400 }), envelope('doc.submitted', scope, acme(1)));
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(res.result).toMatchObject({ tier: 'fallback' });
    const [entry] = await logEntries(t, scope, ['context_doc']);
    expect(entry!.payload).toMatchObject({ extraction_tier: 'fallback', fallback_reason: 'timeout' });
  });

  it('a failing endpoint opens the breaker: after three failed steps no request is sent until it half-opens', async () => {
    script = Array.from({ length: 50 }, () => ({ status: 500 }));
    const deps = t.depsWith({ model: model(), llmTimeoutMs: 10_000 });
    for (let i = 0; i < 3; i++) {
      const scope = await t.scope('wire-500-');
      const res = await run(facts, deps, envelope('doc.submitted', scope, acme(1)));
      expect(res.result).toMatchObject({ tier: 'fallback' });
      const [entry] = await logEntries(t, scope, ['context_doc']);
      expect(String(entry!.payload.fallback_reason)).toMatch(/^error: /);
    }
    const sent = requests.length;
    expect(sent).toBeGreaterThanOrEqual(3);
    const scope = await t.scope('wire-open-');
    await run(facts, deps, envelope('doc.submitted', scope, acme(1)));
    const [entry] = await logEntries(t, scope, ['context_doc']);
    expect(entry!.payload).toMatchObject({ fallback_reason: 'breaker_open' });
    expect(requests.length).toBe(sent);
  });
});
