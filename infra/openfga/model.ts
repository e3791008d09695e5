// The authorization model (model.fga) and standing grants (tuples.yaml) as the
// OpenFGA API wants them. Used by services bootstrap and by the model tests.
import { readFileSync } from 'node:fs';
import { transformer } from '@openfga/syntax-transformer';
import { parse } from 'yaml';
import { z } from 'zod';

const here = new URL('.', import.meta.url);

export interface AuthorizationModel {
  schema_version: string;
  type_definitions: unknown[];
  conditions?: Record<string, unknown>;
}

export function loadModel(): AuthorizationModel {
  const dsl = readFileSync(new URL('model.fga', here), 'utf8');
  return transformer.transformDSLToJSONObject(dsl) as unknown as AuthorizationModel;
}

const tupleSchema = z.object({ user: z.string(), relation: z.string(), object: z.string() });
export type Tuple = z.infer<typeof tupleSchema>;

export function loadTuples(): Tuple[] {
  return z.array(tupleSchema).parse(parse(readFileSync(new URL('tuples.yaml', here), 'utf8')));
}

/** Stable comparison of two models regardless of key order. */
export function sameModel(a: AuthorizationModel, b: AuthorizationModel): boolean {
  const norm = (m: AuthorizationModel) =>
    JSON.stringify(sortKeys({ s: m.schema_version, t: m.type_definitions, c: m.conditions ?? {} }));
  return norm(a) === norm(b);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        // The server echoes defaults ("" and null) that the DSL leaves out.
        .filter(([, x]) => x !== null && x !== undefined && x !== '')
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}

const checkSchema = tupleSchema.extend({ allowed: z.boolean() });
export type ModelCheck = z.infer<typeof checkSchema>;

/** The model tests in model.tests.yaml: extra tuples and the checks with their expected outcome. */
export function loadModelTests(): { tuples: Tuple[]; checks: ModelCheck[] } {
  return z
    .object({ tuples: z.array(tupleSchema).default([]), checks: z.array(checkSchema).min(1) })
    .strict()
    .parse(parse(readFileSync(new URL('model.tests.yaml', here), 'utf8')));
}
