// A module resolve hook, run (like the runtime's own ESM hook) in Node's loader thread. Every run
// imports its own copy of the adaptor (`index.js?cache=<run>`), and Node caches resolutions by
// importing URL, so without this each run would resolve every import of the adaptor again, file
// system lookups included, through the loader thread: a quarter of a warm run's time. Installed
// adaptor versions never change in place, so a resolution is kept by the importing file, whatever its
// `?cache=` query. Specifiers that carry a query themselves (the runtime's own imports of
// `<entry>?cache=<run>`) are not kept: each is new.
const resolved = new Map();

export async function resolve(specifier, context, nextResolve) {
  if (specifier.includes('?') || !context.parentURL) {
    return nextResolve(specifier, context);
  }
  const parent = context.parentURL.replace(/[?#].*$/, '');
  const key = JSON.stringify([specifier, parent, context.conditions, context.importAttributes]);
  const known = resolved.get(key);
  if (known) {
    return known;
  }
  const result = await nextResolve(specifier, context);
  resolved.set(key, { ...result, shortCircuit: true });
  return result;
}
