/**
 * prom-client children bound once per label combination. `counter.inc({ provider, status })`
 * hashes the label object (sorted keys, string building) on every call; a request updates a
 * dozen series, so the request path looks its children up in nested maps instead, built on
 * first use. Label values are bounded (config names and closed sets, see metrics.ts), so the
 * maps stay as small as the series themselves.
 */
interface Labelled<C> {
  labels(...values: string[]): C;
}

/** children(metric)(a, b, ...) returns the child for those label values, created once. */
export function createChildren<C>(metric: Labelled<C>): (...values: string[]) => C {
  const root = new Map<string, unknown>();
  return (...values: string[]): C => {
    let level = root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (!next) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    let child = level.get(values[last]!) as C | undefined;
    if (child === undefined) level.set(values[last]!, (child = metric.labels(...values)));
    return child;
  };
}
