// Builds a V8 startup snapshot of the runner (docs/engine.md, "Start-up snapshot"):
//   node build-snapshot.mjs <blob> <manifest> <node flags...>
// kindling/engine/snapshot.py runs it (`make setup` for the default memory limit, the engine for
// another one) with the flags the runner is started with: V8 loads a snapshot only with the flags it
// was built with, heap sizes included.
// 1. esbuild bundles snapshot.mjs (main.mjs, @openfn/runtime, the compiler and everything they import)
//    into one CommonJS file next to the blob: Node 20 builds a snapshot from one script that can
//    require nothing but Node's own modules;
// 2. `node <flags> --build-snapshot <bundle>` writes the blob, in an empty environment with pipes for
//    stdio, as the runner is started (chalk and figures look at both when they load).
// Both are written under temporary names and renamed, so a runner never sees half a build; then
// `<manifest>` (JSON: what the blob is built from, snapshot.py's) is written to the blob's `.json`, last
// (so that a build finishes even when the process that started it has ended, as `kindling execute`
// does), and `<blob>.building` (snapshot.py's mark that a build is under way) is removed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const RUNNER = dirname(fileURLToPath(import.meta.url));

async function build(blob, flags) {
  const folder = dirname(blob);
  mkdirSync(folder, { recursive: true });
  const bundle = join(folder, `runner.cjs.${process.pid}.tmp`);
  const partial = `${blob}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [join(RUNNER, 'snapshot.mjs')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: readFileSync(join(RUNNER, 'snapshot-banner.cjs'), 'utf8') },
    define: { KINDLING_RUNNER_URL: JSON.stringify(pathToFileURL(`${RUNNER}/`).href), 'import.meta.resolve': 'resolveSpecifier' },
    inject: [join(RUNNER, 'imports-snapshot.mjs')],
    plugins: [
      {
        name: 'imports-snapshot',
        setup(build) {
          build.onResolve({ filter: /^\.\/imports\.mjs$/ }, () => ({ path: join(RUNNER, 'imports-snapshot.mjs') }));
        },
      },
    ],
  });
  // source-map (the runtime's, for a failing job's source line) reads its WebAssembly next to itself.
  copyFileSync(join(RUNNER, 'node_modules/source-map/lib/mappings.wasm'), join(folder, 'mappings.wasm'));
  const built = spawnSync(process.execPath, [...flags, '--snapshot-blob', partial, '--build-snapshot', bundle], {
    cwd: folder,
    env: {},
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (built.status !== 0) {
    rmSync(bundle, { force: true });
    rmSync(partial, { force: true });
    // Node warns that some of its modules (vm, readline, child_process) are "not yet fully verified"
    // in snapshots: the snapshot only loads them, and the tests run every job through it.
    const said = built.stderr.split('\n').filter((line) => !/not yet fully verified|may still work|To request support|nodejs\/node\/issues|--trace-warnings/.test(line));
    throw new Error(`node --build-snapshot failed (${built.status ?? built.signal}): ${said.join('\n').trim()}${built.stdout}`);
  }
  renameSync(bundle, join(folder, 'runner.cjs'));
  renameSync(partial, blob);
}

const [blob, manifest, ...flags] = process.argv.slice(2);
if (!blob || !manifest) {
  console.error('usage: node build-snapshot.mjs <blob> <manifest> <node flags...>');
  process.exit(2);
}
try {
  await build(blob, flags);
  const described = blob.replace(/\.blob$/, '.json');
  writeFileSync(`${described}.${process.pid}.tmp`, `${JSON.stringify(JSON.parse(manifest), null, 2)}\n`);
  renameSync(`${described}.${process.pid}.tmp`, described);
} catch (error) {
  console.error(error.message);
  process.exitCode = 1;
} finally {
  rmSync(`${blob}.building`, { force: true });
}
