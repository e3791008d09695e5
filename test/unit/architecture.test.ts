// The layer rule of docs/architecture.md, checked on the import graph of shared/ and
// functions/. Imports are read with the TypeScript scanner (comments and strings are not
// imports; `export ... from` and `import()` are), relative paths resolved to repo paths.
// Every import counts, type-only ones too: a type import still couples the layers.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Repo path (posix) → its imports: repo paths for relative ones, the specifier for packages. */
type ImportGraph = Map<string, string[]>;

function importGraph(files: ReadonlyMap<string, string>): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const [file, text] of files) {
    const { importedFiles } = ts.preProcessFile(text, true, true);
    graph.set(
      file,
      importedFiles.map(({ fileName: s }) => (s.startsWith('.') ? posix.normalize(posix.join(posix.dirname(file), s)) : s)),
    );
  }
  return graph;
}

function readTree(dirs: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const p = posix.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.m?tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) files.set(p, readFileSync(join(ROOT, p), 'utf8'));
    }
  };
  for (const d of dirs) walk(d);
  return files;
}

const under = (...dirs: string[]) => (p: string) => dirs.some((d) => p.startsWith(`${d}/`));
const oneOf = (...paths: string[]) => (p: string) => paths.includes(p);
/** Not a repo path (relative imports are resolved to repo paths, so anything else is a package). */
const isPackage = (p: string) => !/^(shared|functions|infra|test)\//.test(p);
const pkg = (...names: string[]) => (p: string) => isPackage(p) && names.some((n) => (n.endsWith('/') ? p.startsWith(n) : p === n || p === n.replace(/^node:/, '')));
const any = (...preds: ((p: string) => boolean)[]) => (p: string) => preds.some((f) => f(p));

/** Packages that reach outside the process: files, sockets, threads, databases, the bus, S3, OpenFGA, LLMs. */
const IO = pkg(
  'node:fs', 'node:fs/promises', 'node:net', 'node:tls', 'node:http', 'node:https', 'node:http2', 'node:dgram', 'node:dns',
  'node:child_process', 'node:cluster', 'node:worker_threads', 'piscina', 'ws', 'pg', '@neondatabase/', '@nats-io/',
  '@aws-sdk/', '@openfga/', '@mastra/', '@ai-sdk/', 'ai', 'pino', '@opentelemetry/',
);

interface Rule {
  name: string;
  /** The files the rule is about. */
  from: (file: string) => boolean;
  /** What they may not import. */
  forbidden: (target: string, file: string) => boolean;
}

/** The step folder of functions/<step>/..., or null for functions/*.ts and everything else. */
const stepOf = (p: string) => /^functions\/([^/]+)\//.exec(p)?.[1] ?? null;

const RULES: readonly Rule[] = [
  {
    name: 'contract is the bottom layer: it imports only itself',
    from: under('shared/contract'),
    forbidden: (t) => !isPackage(t) && !t.startsWith('shared/contract/'),
  },
  {
    // extract/pool.ts and extract/worker.ts are the worker-thread boundary that runs the
    // pure extractor off the main thread; the rest of extract is pure.
    name: 'domain and extract do no I/O: no adapters, store, runtime, swarm, llm, usecases, config, policy loading, I/O packages',
    from: (f) => under('shared/domain', 'shared/extract')(f) && !oneOf('shared/extract/pool.ts', 'shared/extract/worker.ts')(f),
    forbidden: any(
      under('shared/adapters', 'shared/store', 'shared/runtime', 'shared/swarm', 'shared/llm', 'shared/usecases', 'shared/notify', 'functions', 'infra'),
      oneOf('shared/config.ts', 'shared/log.ts', 'shared/policy/load.ts', 'shared/extract/pool.ts'),
      IO,
    ),
  },
  {
    // S3 (artifacts, facts documents) is storage too, hence the S3 client and the breakers.
    name: 'store is repositories: domain, extract, contract, policy, config, log, and of the adapters only db, s3 and resilience',
    from: under('shared/store'),
    forbidden: (t) =>
      isPackage(t)
        ? pkg('@nats-io/', '@openfga/', '@mastra/', '@ai-sdk/', 'ai', 'piscina')(t)
        : !(
            under('shared/store', 'shared/domain', 'shared/extract', 'shared/contract', 'shared/policy')(t) ||
            oneOf('shared/config.ts', 'shared/log.ts', 'shared/adapters/db.ts', 'shared/adapters/s3.ts', 'shared/adapters/resilience.ts', 'shared/notify/events.ts', 'shared/notify/webhook.ts')(t)
          ),
  },
  {
    // The agent helpers (defineAgentStep, the hold, the guards) build on the runtime, not the reverse.
    name: 'the step runtime sits under the agent helpers: no swarm, usecases, functions or infra',
    from: under('shared/runtime'),
    forbidden: under('shared/swarm', 'shared/usecases', 'functions', 'infra'),
  },
  {
    name: 'usecases sit under the step runtime: no functions, infra or runtime',
    from: under('shared/usecases'),
    forbidden: under('functions', 'infra', 'shared/runtime'),
  },
  {
    name: 'shared never imports functions or infra',
    from: under('shared'),
    forbidden: under('functions', 'infra'),
  },
  {
    name: 'a step imports no other step (functions/registry.ts and functions/budgets.ts are the shared lists)',
    from: (f) => stepOf(f) !== null,
    forbidden: (t, f) => t.startsWith('functions/') && stepOf(t) !== stepOf(f) && t !== 'functions/budgets.ts',
  },
  {
    name: 'API route modules import the context module, not each other (routes/index.ts registers them)',
    from: (f) => under('functions/api/routes')(f) && f !== 'functions/api/routes/index.ts',
    forbidden: under('functions/api/routes'),
  },
];

/**
 * Known violations, "from -> to", to be removed as the restructure of issue 15 lands.
 * An entry that no longer occurs fails the test, so the list only shrinks.
 */
const ALLOWED: ReadonlySet<string> = new Set<string>([]);

function check(graph: ImportGraph, rules: readonly Rule[], allowed: ReadonlySet<string>) {
  const found: { edge: string; rules: string[] }[] = [];
  for (const [file, targets] of graph) {
    for (const t of new Set(targets)) {
      const broken = rules.filter((r) => r.from(file) && r.forbidden(t, file)).map((r) => r.name);
      if (broken.length) found.push({ edge: `${file} -> ${t}`, rules: broken });
    }
  }
  const edges = new Set(found.map((v) => v.edge));
  return {
    violations: found.filter((v) => !allowed.has(v.edge)),
    stale: [...allowed].filter((e) => !edges.has(e)),
  };
}

describe('layer rule (docs/architecture.md)', () => {
  const tree = readTree(['shared', 'functions']);
  const graph = importGraph(tree);

  it('holds on the tree, apart from the listed known violations, none of which is stale', () => {
    // Not vacuous: the scan sees the tree and the edges the rules are about.
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('functions/api/routes/scopes.ts')).toContain('functions/api/context.ts');
    expect(graph.get('functions/registry.ts')).toContain('functions/facts/index.ts');
    const { violations, stale } = check(graph, RULES, ALLOWED);
    expect(violations, 'new layer violations (see docs/architecture.md)').toEqual([]);
    expect(stale, 'fixed: remove these from ALLOWED').toEqual([]);
  });

  it('fails when a real file gains a forbidden import', () => {
    const files = new Map(tree);
    const domain = 'shared/domain/graph.ts';
    files.set(domain, `${tree.get(domain)}\nimport { withTransaction } from '../store/db.ts';\n`);
    const route = 'functions/api/routes/hold.ts';
    files.set(route, `import type { Routes } from './index.ts';\n${tree.get(route)}`);
    const { violations } = check(importGraph(files), RULES, ALLOWED);
    expect(violations.map((v) => v.edge).sort()).toEqual([
      'functions/api/routes/hold.ts -> functions/api/routes/index.ts',
      'shared/domain/graph.ts -> shared/store/db.ts',
    ]);
  });

  it('finds each kind of violation in a fixture, and only real imports', () => {
    const fixture = new Map(
      Object.entries({
        'shared/contract/a.ts': `import { b } from '../domain/b.ts'; import { z } from 'zod';`,
        'shared/domain/b.ts': [
          `import { readFileSync } from 'node:fs';`,
          `import type { Db } from '../runtime/guarded.ts';`,
          `export { x } from '../store/x.ts';`,
          `// import { no } from '../store/comment.ts';`,
          `const s = "import { no } from '../store/string.ts'";`,
          `import { createHash } from 'node:crypto';`,
          `import { Mode } from './policy.ts';`,
        ].join('\n'),
        'shared/extract/pool.ts': `import Piscina from 'piscina';`,
        'shared/store/x.ts': `import { ask } from '../llm/model.ts'; import { check } from '../adapters/authz.ts'; import { pool } from '../adapters/db.ts';`,
        'shared/store/y.ts': `import { connect } from '@nats-io/transport-node'; import { S3Client } from '@aws-sdk/client-s3';`,
        'shared/usecases/u.ts': `import { defineStep } from '../runtime/step.ts'; import { x } from '../store/x.ts';`,
        'shared/swarm/s.ts': `const m = await import('../../functions/facts/index.ts');`,
        'functions/facts/index.ts': `import { run } from '../governance/index.ts'; import { budget } from '../budgets.ts'; import { h } from './helpers.ts';`,
        'functions/registry.ts': `import facts from './facts/index.ts';`,
        'functions/api/routes/one.ts': `import { two } from './two.ts'; import { authorize } from '../context.ts';`,
        'functions/api/routes/index.ts': `import { one } from './one.ts';`,
      }),
    );
    const { violations, stale } = check(importGraph(fixture), RULES, new Set(['shared/store/x.ts -> shared/adapters/authz.ts', 'shared/store/gone.ts -> shared/llm/model.ts']));
    expect(violations.map((v) => v.edge).sort()).toEqual([
      'functions/api/routes/one.ts -> functions/api/routes/two.ts',
      'functions/facts/index.ts -> functions/governance/index.ts',
      'shared/contract/a.ts -> shared/domain/b.ts',
      'shared/domain/b.ts -> node:fs',
      'shared/domain/b.ts -> shared/runtime/guarded.ts',
      'shared/domain/b.ts -> shared/store/x.ts',
      'shared/store/x.ts -> shared/llm/model.ts',
      'shared/store/y.ts -> @nats-io/transport-node',
      'shared/swarm/s.ts -> functions/facts/index.ts',
      'shared/usecases/u.ts -> shared/runtime/step.ts',
    ]);
    expect(stale).toEqual(['shared/store/gone.ts -> shared/llm/model.ts']);
  });
});
