// The LLM path over the wire: a small local server speaking the OpenAI chat-completions
// format (with tool calls) answers from a script, and the facts step talks to it through
// the configured provider (LLM_PROVIDER=openai-compatible), as it would to a real
// endpoint — so the provider, the request the model sees, the timeout and the circuit
// breaker are exercised over HTTP, not only through the in-memory mock.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as facts } from '../../functions/facts/index.ts';
import { step as governance } from '../../functions/governance/index.ts';
import { step as status } from '../../functions/status/index.ts';
import { initMetrics, metricsText, shutdownMetrics } from '../../shared/adapters/metrics.ts';
import { breakerStates, resetBreakers } from '../../shared/adapters/resilience.ts';
import { LLM_BREAKER } from '../../shared/llm/run.ts';
import { modelFromConfig } from '../../shared/llm/model.ts';
import { queryNodes } from '../../shared/store/graph.ts';
import { acme, emitted, envelope, logEntries, run, swarmTestEnv, type SwarmTestEnv } from '../support/swarm.ts';

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

describe('per-role models and timeouts (LLM_MODEL_<ROLE>, LLM_TIMEOUT_MS_<ROLE>)', () => {
  // Built from configuration, as a deployed process is: no model handed in by the test.
  const depsFor = (roles: Record<string, string | number>) =>
    t.depsWith({}, { LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: baseUrl, LLM_API_KEY: 'sk-test', LLM_MODEL: 'general', LLM_TIMEOUT_MS: 10_000, ...roles });
  const briefing = (text: string): Reply[] => [{ toolCall: { name: 'writeBriefing', args: { text } } }, { text: 'Published.' }];
  const figure = recordFacts([{ quote: 'Revenue for Q3 was $2.1M', subject: 'Q3 revenue', value: 2100000, unit: 'USD', period: 'Q3' }]);

  it('each role asks the model named for it, a role set to none takes its fallback, the others use LLM_MODEL', async () => {
    const deps = depsFor({ LLM_MODEL_FACTS: 'extractor', LLM_MODEL_STATUS: 'none' });
    const scope = await t.scope('wire-roles-');
    script = [figure, { text: 'Recorded.' }];
    const extracted = await run(facts, deps, envelope('doc.submitted', scope, acme(1)));
    expect(extracted.result).toMatchObject({ tier: 'llm', claims: 1 });
    expect(requests.map((r) => r.body.model)).toEqual(['extractor', 'extractor']);

    requests.length = 0;
    const quiet = await run(status, deps, emitted(extracted, 'facts.extracted'));
    expect(quiet.result).toMatchObject({ tier: 'fallback' });
    expect(requests).toEqual([]);

    // Same configuration without the status override: the briefing comes from the global model.
    const other = await t.scope('wire-roles-general-');
    script = [figure, { text: 'Recorded.' }, ...briefing('Q3 revenue is $2.1M; nothing contradicts it yet.')];
    const deps2 = depsFor({ LLM_MODEL_FACTS: 'extractor' });
    const ev = emitted(await run(facts, deps2, envelope('doc.submitted', other, acme(1))), 'facts.extracted');
    const said = await run(status, deps2, ev);
    expect(said.result).toMatchObject({ tier: 'llm', briefing: 'Q3 revenue is $2.1M; nothing contradicts it yet.' });
    expect(requests.map((r) => r.body.model)).toEqual(['extractor', 'extractor', 'general', 'general']);
  });

  it("a role's own timeout cuts only that role, and the step's deadline grows with its roles' timeouts", async () => {
    const deps = depsFor({ LLM_TIMEOUT_MS_FACTS: 400, LLM_TIMEOUT_MS_GOVERNANCE_TOOLS: 45_000 });
    const scope = await t.scope('wire-roles-slow-');
    script = [{ hangMs: 5_000 }, ...briefing('Briefed in time.')];
    const t0 = Date.now();
    const extracted = await run(facts, deps, envelope('doc.submitted', scope, acme(1)));
    expect(Date.now() - t0).toBeLessThan(4_000);
    const [entry] = await logEntries(t, scope, ['context_doc']);
    expect(entry!.payload).toMatchObject({ extraction_tier: 'fallback', fallback_reason: 'timeout' });
    // The status role keeps the global 10 s and answers.
    expect((await run(status, deps, emitted(extracted, 'facts.extracted'))).result).toMatchObject({ tier: 'llm', briefing: 'Briefed in time.' });

    // Work budget (functions/budgets.ts) + the roles' timeouts: governance calls oversight then the tool agent.
    expect(facts.withDeps(deps).timeoutMs).toBe(90_000 + 400);
    expect(governance.withDeps(deps).timeoutMs).toBe(30_000 + 10_000 + 45_000);
    // No model configured: nothing to wait for beyond the step's own work.
    expect(governance.withDeps(t.deps).timeoutMs).toBe(30_000);
  });

  it('counts each call by role and tier, and each fallback by its reason', async () => {
    initMetrics({ METRICS_ENABLED: true, OTEL_SERVICE_NAME: 'llm-wire-test' });
    try {
      const deps = depsFor({ LLM_MODEL_STATUS: 'none', LLM_TIMEOUT_MS_FACTS: 400 });
      script = [figure, { text: 'Recorded.' }];
      const first = await run(facts, deps, envelope('doc.submitted', await t.scope('wire-metrics-'), acme(1)));
      await run(status, deps, emitted(first, 'facts.extracted'));
      script = [{ hangMs: 5_000 }];
      await run(facts, deps, envelope('doc.submitted', await t.scope('wire-metrics-slow-'), acme(1)));
      const calls = (await metricsText()).split('\n').filter((l) => l.startsWith('gswarm_llm_calls_total{')).sort();
      expect(calls).toEqual([
        'gswarm_llm_calls_total{gswarm_llm_role="facts",gswarm_llm_tier="fallback",gswarm_llm_fallback_reason="timeout"} 1',
        'gswarm_llm_calls_total{gswarm_llm_role="facts",gswarm_llm_tier="llm",gswarm_llm_fallback_reason="none"} 1',
        'gswarm_llm_calls_total{gswarm_llm_role="status",gswarm_llm_tier="fallback",gswarm_llm_fallback_reason="no_model"} 1',
      ]);
    } finally {
      await shutdownMetrics();
    }
  });

  it('a role with its own model has its own circuit breaker: a failing extractor does not silence the others', async () => {
    const deps = depsFor({ LLM_MODEL_FACTS: 'extractor' });
    // The extractor fails three times and its breaker opens.
    script = [{ status: 500 }, { status: 500 }, { status: 500 }];
    for (let i = 0; i < 3; i++) await run(facts, deps, envelope('doc.submitted', await t.scope('wire-roles-500-'), acme(1)));
    expect(breakerStates()[`${LLM_BREAKER}:facts`]).toBe('open');
    expect(breakerStates()[LLM_BREAKER] ?? 'closed').toBe('closed');

    const scope = await t.scope('wire-roles-open-');
    requests.length = 0;
    script = briefing('Still briefed.');
    const extracted = await run(facts, deps, envelope('doc.submitted', scope, acme(1)));
    const [entry] = await logEntries(t, scope, ['context_doc']);
    expect(entry!.payload).toMatchObject({ fallback_reason: 'breaker_open' });
    expect((await run(status, deps, emitted(extracted, 'facts.extracted'))).result).toMatchObject({ tier: 'llm', briefing: 'Still briefed.' });
    expect(requests.map((r) => r.body.model)).toEqual(['general', 'general']);
  });
});
