// Bounds on the work the offline extractor does for one document, so that no input
// (a 180 KB sentence, a wall of numbers, one 100 KB "word", binary garbage) can make
// it run for minutes: text is parsed in chunks of bounded size, every reading of a
// sentence is bounded, and what a cap leaves out is counted, not silently lost.
// Configured through EXTRACT_* variables (shared/config.ts). Pure.
import { PermanentError } from '../contract/errors.ts';
import { MAX_DOCUMENT_CHARS } from '../contract/messages.ts';

export interface ExtractLimits {
  /** Longest document read, in characters; a longer one is a permanent `document_too_large`. */
  maxDocumentChars: number;
  /** A sentence longer than this many tokens is read as consecutive chunks of at most this many. */
  maxSentenceTokens: number;
  /** A run of characters without a space longer than this is cut before the parser sees it (wink-nlp is quadratic in a token's length). */
  maxTokenChars: number;
  /** Figures read per sentence (chunk); the rest are ignored and counted. */
  maxSentenceFigures: number;
  /** Claims kept per document; the rest are dropped and counted. */
  maxClaims: number;
}

export const DEFAULT_LIMITS: ExtractLimits = {
  maxDocumentChars: MAX_DOCUMENT_CHARS,
  // The longest sentence of the scenario documents has 86 tokens and 432 characters.
  maxSentenceTokens: 200,
  maxTokenChars: 100,
  maxSentenceFigures: 24,
  maxClaims: 2_000,
};

/** Characters handed to the parser at once: room for maxSentenceTokens tokens of ordinary length. */
export const chunkChars = (l: Pick<ExtractLimits, 'maxSentenceTokens'>): number => l.maxSentenceTokens * 10;

/** What the caps left out of one document (only when something was). */
export interface LimitsReport {
  /** Sentences (or over-long tokens) read as several chunks. */
  sentences_split: number;
  figures_ignored: number;
  claims_dropped: number;
}

export function limitsFromEnv(env: {
  EXTRACT_MAX_DOCUMENT_CHARS: number;
  EXTRACT_MAX_SENTENCE_TOKENS: number;
  EXTRACT_MAX_TOKEN_CHARS: number;
  EXTRACT_MAX_SENTENCE_FIGURES: number;
  EXTRACT_MAX_CLAIMS: number;
}): ExtractLimits {
  return {
    maxDocumentChars: env.EXTRACT_MAX_DOCUMENT_CHARS,
    maxSentenceTokens: env.EXTRACT_MAX_SENTENCE_TOKENS,
    maxTokenChars: env.EXTRACT_MAX_TOKEN_CHARS,
    maxSentenceFigures: env.EXTRACT_MAX_SENTENCE_FIGURES,
    maxClaims: env.EXTRACT_MAX_CLAIMS,
  };
}

/** A document above the size cap fails the same way on every retry: permanent. */
export function assertDocumentSize(text: string, limits: Pick<ExtractLimits, 'maxDocumentChars'>): void {
  if (text.length > limits.maxDocumentChars) {
    throw new PermanentError(
      'document_too_large',
      `the document has ${text.length} characters, more than the ${limits.maxDocumentChars} the extractor reads (EXTRACT_MAX_DOCUMENT_CHARS)`,
    );
  }
}
