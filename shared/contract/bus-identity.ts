// The bus identities (one NATS credential each; permissions in infra/nats/permissions.ts).
export const BUS_IDENTITY = { api: 'api', bridge: 'bridge', operator: 'operator' } as const;

/** A step's own identity: it pulls its consumer and publishes what it emits. */
export const stepIdentity = (step: string): string => `step-${step}`;

/** Each identity gets replies on its own inbox prefix, so none can read another's. */
export const inboxPrefix = (identity: string): string => `_INBOX_${identity.replace(/[^A-Za-z0-9_-]/g, '_')}`;
