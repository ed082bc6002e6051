// Kindling's job runner: `main()` serves requests, one JSON request per line on stdin, one JSON event
// per line on stdout. Requests are handled one at a time, so one process can serve several runs in a
// row (a warm pool); it exits when stdin ends. Started as `node --experimental-vm-modules worker.mjs`,
// or from the V8 startup snapshot of this code (snapshot.mjs), whose deserialized main is `main()`:
// nothing at the top level of this module (or of what it imports) may touch the process, since in
// the snapshot it ran when the snapshot was built.
//
// Requests:
//   {"type": "run", "id", "expression", "adaptor": "<name>@<version>", "beside": ["<name>@<version>"],
//    "state", "repo", "consoleDisabled", "stateLimitMb"}
//   {"type": "compile", "id", "expression", "adaptor"?, "repo"?, "exports"?}
// Events:
//   {"type": "ready", "versions"}                      once, when requests can be sent
//   {"type": "log", "id", "time", "source", "level", "message", "cut"?}
//   {"type": "result", "id", "status", "exitCode", "adaptorVersion", "state", "heapUsedMb",
//    "reusable", "notReusableBecause"}
//   {"type": "compiled", "id", "code", "operations"} or {"type": "compiled", "id", "error"}
//   {"type": "fatal", "exitCode", "message"}           then the process exits with that code
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import vm from 'node:vm';
import run, { getModuleEntryPoint } from '@openfn/runtime';
import { CompileError, compile } from './compile.mjs';
import { withErrorReports } from './error-report.mjs';
import { forwardHostPorts } from './forward.mjs';
import { hardenIntrinsics } from './harden.mjs';
import { Hygiene, describeExports } from './hygiene.mjs';
import { RUNNER_URL, importModule, prepareImports } from './imports.mjs';
import { RunModules, linkedTarget, trackModules, withEsmHookIfNeeded } from './instances.mjs';
import { createDisabledConsole, createLogger, formatMessage } from './log.mjs';

// Exit codes shared with kindling/engine/exit_codes.py.
const EXIT = { success: 0, failed: 1, failedToStart: 3, engineError: 10 };
const STEP_ID = 'job';

// The real stdout, kept for the protocol (main() sets it): anything else that writes to stdout is
// turned into log lines, so stray output can never corrupt the stream of events.
let writeProtocol;
function send(event) {
  writeProtocol(`${JSON.stringify(event)}\n`);
}

let hygiene; // main() makes it: the scratch folders are this process's own

const RUNTIME_VERSION = JSON.parse(
  readFileSync(new URL('node_modules/@openfn/runtime/package.json', RUNNER_URL), 'utf8'),
).version;

let currentRun = null; // { id, abort(error) } while a run request is being handled
let strayError = null; // an error thrown between runs: something of an earlier run was still alive

function now() {
  return performance.timeOrigin + performance.now();
}

// A runaway line is cut here already, so that it cannot fill the pipe and the engine's memory; the
// engine scrubs secrets and cuts again, much shorter, and says how much was cut in all.
const MAX_MESSAGE_CHARS = 1024 * 1024;

function emitter(source, id = () => currentRun?.id ?? null) {
  return (level, message) => {
    const event = { type: 'log', id: id(), time: now(), source, level, message };
    if (message.length > MAX_MESSAGE_CHARS) {
      // Never between the two halves of a surrogate pair (an emoji, say).
      const high = message.charCodeAt(MAX_MESSAGE_CHARS - 1);
      const end = high >= 0xd800 && high <= 0xdbff ? MAX_MESSAGE_CHARS - 1 : MAX_MESSAGE_CHARS;
      event.message = message.slice(0, end);
      event.cut = message.length - end;
    }
    send(event);
  };
}

// An exception thrown from a job's timer or an unhandled rejection would kill the process (Node's
// default); instead it fails the current run with the error in the log.
function failCurrentRun(kind) {
  return (error) => {
    const message = `${kind}: ${formatMessage([error])}`;
    if (currentRun) {
      emitter('R/T')('error', message);
      currentRun.abort(Object.assign(new Error(message), { logged: true }));
    } else {
      emitter('RTE')('error', `${message} (outside of a run)`);
      strayError ??= `an error was thrown between runs (${kind})`;
    }
  };
}

function splitSpecifier(specifier) {
  const at = specifier.lastIndexOf('@');
  return at > 0 ? { name: specifier.slice(0, at), version: specifier.slice(at + 1) } : { name: specifier, version: undefined };
}

// An installed adaptor version never changes in place, so what was read of it once is kept.
const adaptors = new Map(); // "<name>@<version>\n<repo>" -> { name, version, exports, url, pristine }

async function loadAdaptor(specifier, repo) {
  const key = `${specifier}\n${repo}`;
  if (!adaptors.has(key)) {
    const { name } = splitSpecifier(specifier);
    const entry = await getModuleEntryPoint(specifier, undefined, repo);
    if (!entry) {
      throw new Error(`${specifier} is not installed in the adaptor repository ${repo}`);
    }
    const url = pathToFileURL(entry.path).href;
    const namespace = await withEsmHookIfNeeded((again) => importModule(again ? `${url}?esm-hook` : url));
    // Read before any job ran: what every later instance of this adaptor must still look like.
    const pristine = describeExports(namespace);
    const exports = Object.keys(linkedTarget(namespace));
    adaptors.set(key, { name, version: entry.version, path: entry.path, exports, pristine });
    hygiene.rebase();
  }
  return adaptors.get(key);
}

// A warm process runs the same few jobs again and again, and compiling costs more than running a
// trivial job: keep the latest compilations.
const COMPILED_KEPT = 64;
const compiled = new Map();

function compileCached(expression, adaptor, beside) {
  const key = [adaptor, ...beside].map((each) => `${each.name}@${each.version}`).join(' ') + `\n${expression}`;
  let result = compiled.get(key);
  if (result) {
    compiled.delete(key); // re-inserted below: the Map's order is the order of use
  } else {
    result = compile(expression, { adaptor, beside });
  }
  compiled.set(key, result);
  if (compiled.size > COMPILED_KEPT) {
    compiled.delete(compiled.keys().next().value);
  }
  return result;
}

function versionsBanner(adaptors) {
  const rows = [
    ['node.js', process.versions.node],
    ['@openfn/runtime', RUNTIME_VERSION],
    ...adaptors.map((each) => [each.name, each.version]),
  ];
  return ['Versions:', ...rows.map(([what, version]) => `    ▸ ${what.padEnd(28)}${version}`)].join('\n');
}

function describeCompileError(error, source) {
  const lines = [`Could not compile the job. ${error.message}`];
  const text = source.split('\n')[error.line - 1];
  if (text !== undefined) {
    lines.push(`${error.line}: ${text}`, `${' '.repeat(String(error.line).length + 2 + error.column - 1)}^`);
  }
  return lines.join('\n');
}

async function runJob(request) {
  const { id, expression, adaptor: specifier, beside: besideSpecifiers = [], state, repo } = request;
  const { consoleDisabled = false, stateLimitMb = 10 } = request;
  const log = {
    // "Error reported by get() on line 3: HTTP 404 Not Found from GET <url>" (error-report.mjs).
    runtime: withErrorReports(createLogger(emitter('R/T', () => id), { minLevel: 'info' })),
    engine: createLogger(emitter('RTE', () => id)),
    versions: createLogger(emitter('VER', () => id)),
  };
  // From here on, anything the adaptor or a stray write prints belongs to this run.
  let aborted;
  const abortion = new Promise((_, reject) => {
    aborted = reject;
  });
  abortion.catch(() => {}); // an abort before the run starts must not count as unhandled
  currentRun = { id, abort: aborted };
  hygiene.settle();
  // A run whose runtime promise never settled (it was aborted) may still have work in flight.
  let settled = true;
  let checkAdaptor; // set once the job is about to run: nothing to check before
  // The run's own instances of the modules it imports (a random cache key for an old CommonJS
  // adaptor, imported the runtime's way: no later run can name this run's copy).
  const modules = new RunModules(`${encodeURIComponent(id)}-${randomUUID()}`);
  const finish = async (status, exitCode, adaptorVersion, finalState) => {
    log.runtime.info(`Run complete with status: ${status}`);
    currentRun = null;
    modules.release();
    const dirty = settled
      ? ((await hygiene.afterRun(checkAdaptor)) ?? strayError)
      : 'the run was aborted with work still in flight';
    send({
      type: 'result',
      id,
      status,
      exitCode,
      adaptorVersion,
      state: finalState ?? null,
      heapUsedMb: getHeapStatistics().used_heap_size / (1024 * 1024),
      reusable: dirty === null,
      notReusableBecause: dirty,
    });
  };

  let adaptor;
  const beside = [];
  for (const each of [specifier, ...besideSpecifiers]) {
    try {
      const loaded = await loadAdaptor(each, repo);
      if (adaptor === undefined) {
        adaptor = loaded;
      } else {
        beside.push(loaded);
      }
    } catch (e) {
      log.engine.error(`Could not load the adaptor ${each}: ${e.message}`);
      return await finish('crashed', EXIT.failedToStart, adaptor?.version ?? null);
    }
  }
  log.versions.info(versionsBanner([adaptor, ...beside]));

  let compiled;
  try {
    compiled = compileCached(expression, adaptor, beside);
  } catch (e) {
    if (!(e instanceof CompileError)) {
      throw e;
    }
    log.engine.error(describeCompileError(e, expression));
    return await finish('crashed', EXIT.failedToStart, adaptor.version);
  }

  let failed = false;
  let errorState = null;
  // A job whose promise never settles leaves nothing in the event loop, and Node would quit with
  // "unsettled top-level await" (exit 13). Stay alive: the caller's timeout decides when to stop.
  const keepAlive = setInterval(() => {}, 60_000);
  // The linker evaluates each adaptor afresh for this run, so no module state of an earlier run is
  // shared; the instance it gave this run must still look like the pristine one afterwards.
  checkAdaptor = async () => {
    for (const each of [adaptor, ...beside]) {
      try {
        const instance = await modules.given(each.path);
        if (instance !== undefined && describeExports(instance) !== each.pristine) {
          return `the run added to the exports of ${each.name}`;
        }
      } catch (e) {
        return `the adaptor ${each.name} could not be checked: ${e.message}`;
      }
    }
    return null;
  };
  const plan = {
    id,
    workflow: {
      steps: [{
        id: STEP_ID,
        expression: compiled.code,
        // The linker takes each adaptor's version from here.
        adaptors: [adaptor, ...beside].map((each) => `${each.name}@${each.version}`),
        sourceMap: compiled.sourceMap,
      }],
    },
    options: {},
  };
  const options = {
    logger: log.runtime,
    jobLogger: consoleDisabled ? createDisabledConsole(emitter('JOB', () => id)) : createLogger(emitter('JOB', () => id)),
    linker: { repo, whitelist: [/^@openfn\//], linker: modules.linker },
    statePropsToRemove: ['configuration', 'response'],
    stateLimitMb,
    disableEsmHook: true,
    callbacks: {
      // A reported error (severity fail) still resolves run(); this is how we know the job failed.
      notify: (event, payload) => {
        if (event === 'job-error') {
          failed = true;
          errorState = payload.state;
        }
      },
    },
  };
  try {
    const finalState = await Promise.race([run(plan, state, options), abortion]);
    clearInterval(keepAlive);
    // The runtime copies the final state through fast-safe-stringify, which does not throw on what
    // JSON cannot hold (a BigInt, say) but returns this text instead of the state.
    if (typeof finalState === 'string' && finalState.startsWith('[unable to serialize')) {
      log.runtime.error('The final state cannot be saved as JSON (does it hold a BigInt?): the run fails');
      return await finish('fail', EXIT.failed, adaptor.version, null);
    }
    await finish(failed ? 'fail' : 'success', failed ? EXIT.failed : EXIT.success, adaptor.version, finalState);
  } catch (e) {
    clearInterval(keepAlive);
    // Crashes the runtime reported itself are already in the log (through job-error).
    if (!failed && !e.logged) {
      log.runtime.error(`The run crashed: ${formatMessage([e])}`);
    }
    settled = !e.logged;
    await finish('crashed', EXIT.failed, adaptor.version, errorState);
  }
}

async function compileJob(request) {
  const { id, expression, adaptor: specifier, repo, exports } = request;
  try {
    let adaptor = null;
    if (exports) {
      adaptor = { name: splitSpecifier(specifier ?? '@openfn/language-common').name, exports };
    } else if (specifier) {
      adaptor = await loadAdaptor(specifier, repo);
    }
    const { code, operations } = compile(expression, { adaptor });
    send({ type: 'compiled', id, code, operations });
  } catch (e) {
    if (!(e instanceof CompileError)) {
      throw e;
    }
    send({ type: 'compiled', id, error: { message: e.message, line: e.line, column: e.column } });
  }
}

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    return send({ type: 'fatal', exitCode: EXIT.engineError, message: `Request is not JSON: ${e.message}` });
  }
  try {
    if (request.type === 'run') {
      return await runJob(request);
    }
    if (request.type === 'compile') {
      return await compileJob(request);
    }
    emitter('RTE', () => request.id ?? null)('error', `Unknown request type: ${request.type}`);
  } catch (e) {
    // A bug of ours, not of the job: say so, and let the caller decide whether to recycle us.
    currentRun = null;
    emitter('RTE', () => request.id ?? null)('error', `Internal error of the runner: ${e.stack ?? e}`);
    send({
      type: 'result',
      id: request.id ?? null,
      status: 'crashed',
      exitCode: EXIT.engineError,
      adaptorVersion: null,
      state: null,
      reusable: false,
      notReusableBecause: 'internal error of the runner',
    });
  }
}

export async function main() {
  writeProtocol = process.stdout.write.bind(process.stdout);
  // Our reader is gone (it died or killed us): nobody can hear results any more.
  process.stdout.on('error', () => process.exit(EXIT.engineError));

  // Without the flag nothing throws: every job silently fails with "SourceTextModule is not a
  // constructor" in state.errors. Refuse to start instead.
  if (typeof vm.SourceTextModule !== 'function') {
    send({
      type: 'fatal',
      exitCode: EXIT.engineError,
      message: 'The runner needs Node.js started with --experimental-vm-modules (vm.SourceTextModule is missing)',
    });
    process.exit(EXIT.engineError);
  }
  trackModules();
  await prepareImports();

  // The caller starts us with an empty environment; bubblewrap still sets PWD. Job code gets nothing.
  delete process.env.PWD;

  // Folders emptied after every run, as the command line says: `--scratch-cwd` when the working
  // directory is a throw-away folder of this process, `--private-tmp` inside the OS sandbox, where
  // /tmp is ours alone (never the machine's own /tmp).
  hygiene = new Hygiene([
    ...(process.argv.includes('--scratch-cwd') ? [process.cwd()] : []),
    ...(process.argv.includes('--private-tmp') ? [tmpdir()] : []),
  ]);

  // Adaptor code runs in this realm and logs through the global console: source ADA. The runtime's
  // ESM hook (extension-less imports in adaptors) is registered the first time an import needs it
  // (instances.mjs); runs pass disableEsmHook so that the runtime does not register it for every run.
  Object.defineProperty(globalThis, 'console', {
    value: createLogger(emitter('ADA')),
    writable: true,
    configurable: true,
  });

  for (const [stream, level] of [[process.stdout, 'info'], [process.stderr, 'warn']]) {
    stream.write = (chunk, encoding, callback) => {
      const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      if (text.trim()) {
        emitter('ADA')(level, text.replace(/\n$/, ''));
      }
      const done = typeof encoding === 'function' ? encoding : callback;
      done?.();
      return true;
    };
  }

  process.on('uncaughtException', failCurrentRun('Uncaught exception'));
  process.on('unhandledRejection', failCurrentRun('Unhandled promise rejection'));

  await forwardHostPorts(process.argv);
  hardenIntrinsics();
  send({ type: 'ready', versions: { node: process.versions.node, runtime: RUNTIME_VERSION } });
  for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim()) {
      await handle(line);
    }
  }
  // Timers or sockets a job left behind must not keep the process alive; but a big result may still
  // be on its way into the pipe (writes to a full pipe complete later): exit once it is written.
  writeProtocol('', () => process.exit(0));
}
