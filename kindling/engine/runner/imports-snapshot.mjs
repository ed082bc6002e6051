// imports.mjs as the V8 startup snapshot's bundle sees it (snapshot.mjs). Functions deserialized from
// a snapshot cannot call `import()` (Node has no loader for them), so the process imports the real
// imports.mjs once, when it starts, through a function compiled then with the main context's loader,
// and hands every later import and resolution to it: they behave as in a runner started from
// worker.mjs.
import vm from 'node:vm';

// The runner's folder when the snapshot was built (build-snapshot.mjs defines it); node.py uses the
// snapshot only while the runner is where it was built.
export const RUNNER_URL = KINDLING_RUNNER_URL;

let loaded = null;

export async function prepareImports() {
  const load = vm.compileFunction('return import(url)', ['url'], {
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  loaded = await load(new URL('imports.mjs', RUNNER_URL).href);
}

export function importModule(specifier) {
  return loaded.importModule(specifier);
}

export function resolveSpecifier(specifier, parent) {
  return loaded.resolveSpecifier(specifier, parent);
}
