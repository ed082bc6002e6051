// What the runner's modules load at run time (adaptors, their dependencies) goes through here, not
// through `import()` and `import.meta` of their own: code built into the V8 startup snapshot
// (snapshot.mjs) has neither, and its build swaps this module for imports-snapshot.mjs, which
// imports this very file when the process starts and then forwards to it.
export const RUNNER_URL = new URL('./', import.meta.url).href;

export async function prepareImports() {}

export function importModule(specifier) {
  return import(specifier);
}

// Needs --experimental-import-meta-resolve for the second argument.
export function resolveSpecifier(specifier, parent) {
  return parent === undefined ? import.meta.resolve(specifier) : import.meta.resolve(specifier, parent);
}
