// S3 client for MinIO locally, RustFS in compose, AWS S3 in the cloud: only the
// endpoint changes (STORAGE_BACKEND is informational; S3_ENDPOINT decides).
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Env } from '../config.ts';

/** What the stores need of a client: in the steps, Deps.s3 (behind the "s3" breaker). */
export type S3Sender = Pick<S3Client, 'send'>;

export type S3Config = Pick<Env, 'S3_ENDPOINT' | 'S3_REGION' | 'S3_ACCESS_KEY' | 'S3_SECRET_KEY'>;

export function createS3(cfg: S3Config): S3Client {
  // Versions pinned in package-lock run on Node 20; the SDK's notice about future
  // releases needing Node 22 is recorded in the README instead of on every start.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: cfg.S3_REGION,
    ...(cfg.S3_ENDPOINT ? { endpoint: cfg.S3_ENDPOINT, forcePathStyle: true } : {}),
    ...(cfg.S3_ACCESS_KEY
      ? { credentials: { accessKeyId: cfg.S3_ACCESS_KEY, secretAccessKey: cfg.S3_SECRET_KEY } }
      : {}),
    // Our own retry/breaker policy wraps calls; keep the SDK's retries short.
    maxAttempts: 2,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Create the bucket unless it exists. Returns true when it was created. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw err;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return false;
    throw err;
  }
}
