/**
 * The vectors the fake upstreams answer embeddings requests with: deterministic per text and
 * per upstream (so a test can tell who answered), exactly representable as float32.
 */
export function fakeVector(upstream: string, text: string, dims = 4): number[] {
  const v = [text.length, text.charCodeAt(0) || 0, upstream.length];
  while (v.length < dims) v.push(v.length / 4);
  return v.slice(0, dims);
}
