// Loading governance.yaml and finality.yaml. A file that does not parse or does not
// match the grammar is an error naming the file and the offending key: the earlier
// implementation fell back to an empty policy, which silently allowed everything.
// The policy version is the sha256 of the file's bytes, so the record of a decision
// names exactly the text it was made under.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { PermanentError } from '../contract/errors.ts';
import {
  FinalityPolicySchema,
  GovernancePolicySchema,
  type FinalityPolicy,
  type GovernancePolicy,
} from '../domain/policy.ts';

export type PolicyKind = 'governance' | 'finality';

export interface LoadedPolicy<T> {
  kind: PolicyKind;
  /** Where it came from (a path, or "<inline>"). */
  source: string;
  text: string;
  /** sha256 hex of the text. */
  version: string;
  policy: T;
}

export type LoadedGovernance = LoadedPolicy<GovernancePolicy>;
export type LoadedFinality = LoadedPolicy<FinalityPolicy>;

export class PolicyError extends PermanentError {
  constructor(source: string, detail: string) {
    super('invalid_policy', `${source}: ${detail}`);
    this.name = 'PolicyError';
  }
}

export const DEFAULT_POLICY_PATHS = {
  governance: fileURLToPath(new URL('./governance.yaml', import.meta.url)),
  finality: fileURLToPath(new URL('./finality.yaml', import.meta.url)),
} as const;

export const policyVersion = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

function parseWith<S extends z.ZodType>(kind: PolicyKind, schema: S, text: string, source: string): LoadedPolicy<z.output<S>> {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    throw new PolicyError(source, `not valid YAML: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PolicyError(source, issues);
  }
  return { kind, source, text, version: policyVersion(text), policy: parsed.data };
}

export const parseGovernancePolicy = (text: string, source = '<inline>'): LoadedGovernance =>
  parseWith('governance', GovernancePolicySchema, text, source);

export const parseFinalityPolicy = (text: string, source = '<inline>'): LoadedFinality =>
  parseWith('finality', FinalityPolicySchema, text, source);

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyError(path, `cannot read: ${(err as Error).message}`);
  }
}

export const loadGovernancePolicy = (path: string = DEFAULT_POLICY_PATHS.governance): LoadedGovernance =>
  parseGovernancePolicy(readText(path), path);

export const loadFinalityPolicy = (path: string = DEFAULT_POLICY_PATHS.finality): LoadedFinality =>
  parseFinalityPolicy(readText(path), path);

export interface PolicySource {
  governance(): LoadedGovernance;
  finality(): LoadedFinality;
}

/**
 * Policies from files, re-read when a file changes (checked by mtime and size on each
 * call, a stat instead of a parse), so an edited policy applies to the next decision.
 */
export function filePolicySource(paths: { governance?: string | undefined; finality?: string | undefined } = {}): PolicySource {
  const cached = <T>(path: string, load: (p: string) => T) => {
    let key = '';
    let value: T | undefined;
    return () => {
      let st;
      try {
        st = statSync(path);
      } catch (err) {
        throw new PolicyError(path, `cannot read: ${(err as Error).message}`);
      }
      const k = `${st.mtimeMs}:${st.size}`;
      if (k !== key || value === undefined) {
        value = load(path);
        key = k;
      }
      return value;
    };
  };
  return {
    governance: cached(paths.governance ?? DEFAULT_POLICY_PATHS.governance, loadGovernancePolicy),
    finality: cached(paths.finality ?? DEFAULT_POLICY_PATHS.finality, loadFinalityPolicy),
  };
}

/** Policies from GOVERNANCE_PATH / FINALITY_PATH, defaulting to the files next to this module. */
export const policySourceFromEnv = (env: { GOVERNANCE_PATH?: string | undefined; FINALITY_PATH?: string | undefined }): PolicySource =>
  filePolicySource({ governance: env.GOVERNANCE_PATH, finality: env.FINALITY_PATH });

/** Fixed policies (tests, benchmarks). */
export function staticPolicySource(governance: LoadedGovernance, finality: LoadedFinality): PolicySource {
  return { governance: () => governance, finality: () => finality };
}
