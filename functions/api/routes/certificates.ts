// Finality certificates (compact JWS, chained per scope) and the public JWKS that
// verifies them offline.
import { createRoute } from '@hono/zod-openapi';
import { getCertificate, jwks, listCertificates, type StoredCertificate } from '../../../shared/store/certificates.ts';
import { authorize, mustGetScope, type Routes } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bearer, errors, json } from '../openapi.ts';
import { readOnly } from '../queries.ts';
import { Certificate, CertificateList, CertificateParam, Jwks, ScopeParam } from '../schemas.ts';

const certJson = (x: StoredCertificate) => ({
  certificate_id: x.certificateId,
  scope: x.scope,
  seq: x.seq,
  previous_id: x.previousId,
  outcome: x.outcome,
  key_id: x.keyId,
  created_at: x.createdAt.toISOString(),
  jws: x.jws,
  payload: x.payload as Record<string, unknown>,
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/scopes/{scope}/certificates',
  summary: "A scope's certificate chain, oldest first",
  description: 'Permission: reader on the scope.',
  tags: ['certificates'],
  security: bearer,
  request: { params: ScopeParam },
  responses: { 200: json(CertificateList, 'The chain'), ...errors(400, 401, 403, 404, 503) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/certificates/{id}',
  summary: 'One certificate: the compact JWS and its payload',
  description: "Permission: reader on the certificate's scope.",
  tags: ['certificates'],
  security: bearer,
  request: { params: CertificateParam },
  responses: { 200: json(Certificate, 'The certificate'), ...errors(400, 401, 403, 404, 503) },
});

const jwksRoute = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  summary: 'Public keys that verify certificates (no authentication)',
  tags: ['certificates'],
  responses: { 200: json(Jwks, 'JWKS of every key that ever signed'), ...errors(503) },
});

export function certificateRoutes(app: Routes['app'], r: Routes): void {
  app.openapi(listRoute, async (c) => {
    const { scope } = c.req.valid('param');
    await authorize(r, c, { action: 'certificate.read', relation: 'reader', object: `scope:${scope}`, scope, write: false });
    const certs = await readOnly(r.deps.db, async (q) => {
      await mustGetScope(q, scope);
      return listCertificates(q, scope);
    });
    return c.json({ scope, certificates: certs.map(certJson) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const cert = await readOnly(r.deps.db, (q) => getCertificate(q, id));
    const notFound = new ApiError(404, 'certificate_not_found', `certificate "${id}" does not exist`);
    if (!cert) throw notFound;
    // One answer for a missing certificate and one the caller may not see: ids cannot be probed.
    await authorize(r, c, { action: 'certificate.read', relation: 'reader', object: `scope:${cert.scope}`, scope: cert.scope, write: false, hidden: notFound });
    return c.json(certJson(cert), 200);
  });

  app.openapi(jwksRoute, async (c) => {
    const set = await readOnly(r.deps.db, (q) => jwks(q));
    // Keys are only ever added; a verifier may cache briefly.
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ keys: set.keys as Record<string, unknown>[] }, 200);
  });
}
