// The first code of the runner's snapshot bundle (build-snapshot.mjs puts it at the top).
//
// Node adds vm.SourceTextModule (and Module, SyntheticModule) when a process starts with
// --experimental-vm-modules, after a snapshot is deserialized; but the bundle's copies of `node:vm`
// (esbuild's `import * as vm` is an object of getters made when the module loads) only list the names
// `node:vm` had then. The names are declared here, empty, so that those copies read them live: from a
// process started with the flag they give Node's classes (or main.mjs's tracking subclass).
{
  const vm = require('node:vm');
  for (const name of ['Module', 'SourceTextModule', 'SyntheticModule']) {
    if (!(name in vm)) {
      vm[name] = undefined;
    }
  }
}

// Node's own
// console is made of V8 inspector functions that a user-land snapshot cannot hold, and modules take
// copies of its methods when they load (@openfn/logger's default emitter does `{...console}`). While
// the snapshot is built, `console` is this one instead: each method forwards to whatever `console` is
// when it is called (main() installs the runner's logger, as in a runner started from worker.mjs),
// and to stderr before that.
{
  const { format } = require('node:util');
  const placeholder = {};
  for (const method of ['log', 'info', 'debug', 'warn', 'error', 'trace', 'dir', 'table', 'group', 'groupEnd', 'time', 'timeEnd', 'timeLog', 'count', 'countReset', 'assert', 'dirxml', 'groupCollapsed']) {
    placeholder[method] = (...args) => {
      if (globalThis.console !== placeholder) {
        return globalThis.console[method]?.(...args);
      }
      if (method !== 'assert' || !args[0]) {
        process.stderr.write(`${format(...(method === 'assert' ? args.slice(1) : args))}\n`);
      }
    };
  }
  Object.defineProperty(globalThis, 'console', { value: placeholder, writable: true, configurable: true, enumerable: false });
}
