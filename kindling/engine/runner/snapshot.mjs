// The entry point of the runner's V8 startup snapshot (build-snapshot.mjs bundles it with main.mjs,
// @openfn/runtime and the compiler into one CommonJS file and runs it under `node --build-snapshot`).
// A process started from the snapshot has all of that in its heap already, compiled, instead of
// loading and compiling some 150 files; then it runs main(), as worker.mjs does.
//
// Only what loading the modules does is in the snapshot: no handle, no stream, no timer, no change to
// the intrinsics (main() freezes them in every process: harden.mjs), no job code.
import { startupSnapshot } from 'node:v8';
import { compile } from './compile.mjs';
import { main } from './main.mjs';

// Compiling a job once here runs the compiler's code paths while the snapshot is built, so that their
// bytecode is in it (V8 compiles a function the first time it runs). Its result is not kept.
compile("fn(state => state);\nget($.data.url);\neach('$.items[*]', post('/x', s => s.data).then(s => s));", {
  adaptor: { name: '@openfn/language-common', exports: ['fn', 'each'] },
});

startupSnapshot.setDeserializeMainFunction(() => {
  main().catch((error) => {
    process.stderr.write(`The runner could not start: ${error?.stack ?? error}\n`);
    process.exit(10);
  });
});
