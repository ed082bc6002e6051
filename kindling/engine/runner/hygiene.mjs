// Between two runs served by one warm process: make sure nothing of the first run can reach the
// second. The adaptor itself is evaluated afresh for every run (instances.mjs) and the vm
// context is new for every run, so what could survive is what a run left in the host realm: files in
// the scratch folders, timers, child processes or servers still pending, changes to host globals
// (job code reaches the host realm through any adaptor function), and additions to the adaptor's
// exports (its dependencies are shared). Scratch
// folders are emptied; anything else found makes the process unfit for another run, and the caller
// recycles it.
//
// This guards against accidents (a job that stashes data in a global, a timer that fires later and
// logs into the next run), not against a job of the same project that sets out to hide data from its
// own project's later runs: that is why a warm process only ever serves runs of one project.
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

// Host objects whose own properties a job might change. Values are compared by identity.
function watchedObjects() {
  return {
    globalThis,
    process,
    'process.env': process.env,
    'Object.prototype': Object.prototype,
    'Array.prototype': Array.prototype,
    'Function.prototype': Function.prototype,
    'String.prototype': String.prototype,
    'Promise.prototype': Promise.prototype,
    JSON,
    Math,
    Reflect,
  };
}

// Properties that change in ordinary use: EventEmitter bookkeeping on process, and the exit code.
const VOLATILE = new Set(['_events', '_eventsCount', '_maxListeners', 'exitCode', '_exiting']);

function fingerprint() {
  const prints = new Map();
  for (const [name, target] of Object.entries(watchedObjects())) {
    const props = new Map();
    for (const key of Reflect.ownKeys(target)) {
      if (!VOLATILE.has(key)) {
        props.set(key, Object.getOwnPropertyDescriptor(target, key));
      }
    }
    prints.set(name, { target, props });
  }
  return prints;
}

// Node defines many globals lazily (`FormData`, `crypto`): an accessor whose first read replaces it
// by a plain value. That value is the right one when the original getter still returns it.
function sameProperty(target, before, after) {
  if ('value' in before && 'value' in after) {
    return Object.is(before.value, after.value);
  }
  if (before.get && 'value' in after) {
    try {
      return Object.is(before.get.call(target), after.value);
    } catch {
      return false;
    }
  }
  return before.get === after.get && before.set === after.set;
}

// Resources that outlive a run and could act in the next one: timers, child processes, servers,
// watchers, signal handlers. Requests in flight (a file being closed) end on their own, and sockets
// outlive runs in the adaptors' HTTP clients' keep-alive pools (shared dependencies, the same for
// every run of the project): reusing a connection carries nothing of the earlier run.
const WATCHED_RESOURCES = new Set([
  'Timeout',
  'Immediate',
  'ProcessWrap',
  'TCPServerWrap',
  'PipeServerWrap',
  'UDPWrap',
  'FSEventWrap',
  'StatWatcher',
  'SignalWrap',
]);

// The watched resources that keep the event loop alive, counted by type.
function activeResources() {
  const counts = new Map();
  for (const type of process.getActiveResourcesInfo()) {
    if (WATCHED_RESOURCES.has(type)) {
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
  }
  return counts;
}

function describeKey(key) {
  return typeof key === 'symbol' ? key.toString() : key;
}

function compareFingerprints(before, after) {
  for (const [name, { target, props }] of after) {
    const old = before.get(name).props;
    for (const [key, descriptor] of props) {
      if (!old.has(key)) {
        return `${name}.${describeKey(key)} was added`;
      }
      if (!sameProperty(target, old.get(key), descriptor)) {
        return `${name}.${describeKey(key)} was changed`;
      }
    }
    for (const key of old.keys()) {
      if (!props.has(key)) {
        return `${name}.${describeKey(key)} was removed`;
      }
    }
  }
  return null;
}

// Removes what a run wrote into `folder`. Mount points are left alone: in the OS sandbox, /tmp holds
// the working directory, and may hold the adaptor repository, bound from outside (read-only).
function emptyFolder(folder) {
  const device = lstatSync(folder).dev;
  for (const entry of readdirSync(folder)) {
    const path = join(folder, entry);
    const stat = lstatSync(path);
    if (stat.dev !== device) {
      continue;
    }
    if (stat.isDirectory()) {
      emptyFolder(path);
      try {
        rmdirSync(path);
      } catch (e) {
        // a folder on the way to a mount point stays
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EBUSY') {
          throw e;
        }
      }
    } else {
      unlinkSync(path);
    }
  }
}

// What the exports of an adaptor module look like from outside: each export's own property names
// (with their values, where those are plain values). Two instances of one adaptor version look alike,
// unless a run added to an export (`fn.saved = ...`) or to a dependency object every instance shares
// (`_.saved = ...`: lodash is loaded once per process).
export function describeExports(namespace) {
  const described = {};
  for (const name of Object.keys(namespace).sort()) {
    const value = namespace[name];
    if (value && (typeof value === 'object' || typeof value === 'function')) {
      described[name] = Reflect.ownKeys(value).map((key) => {
        const descriptor = Object.getOwnPropertyDescriptor(value, key);
        const own = descriptor && 'value' in descriptor ? descriptor.value : undefined;
        const plain = own === null || (typeof own !== 'object' && typeof own !== 'function');
        return plain ? `${describeKey(key)}=${typeof own}:${String(own)}` : describeKey(key);
      });
    } else {
      described[name] = `${typeof value}:${String(value)}`;
    }
  }
  return JSON.stringify(described);
}

export class Hygiene {
  // `scratch`: folders a run may write to, emptied after each run (the working directory, and the
  // private /tmp of the OS sandbox; never the machine's own /tmp).
  constructor(scratch) {
    this.home = process.cwd();
    this.scratch = scratch;
    this.print = null;
    this.resources = null;
  }

  // Called before the first run, once the runtime's own set-up is done.
  settle() {
    if (!this.print) {
      this.rebase();
    }
  }

  // What the host realm looks like now is how it must look after every run. Called again once an
  // adaptor is loaded for the first time: its dependencies may define globals of their own (undici's
  // global dispatcher). No run is under way then, and the last one left nothing behind.
  rebase() {
    this.print = fingerprint();
    this.resources = activeResources();
  }

  // After a run: empties the scratch folders; resolves to null when the process may serve another
  // run, or to the reason why it may not.
  async afterRun(checkAdaptor = async () => null) {
    // Let work that is already due finish first (an HTTP client closing a response stream).
    for (let turn = 0; turn < 3 && process.getActiveResourcesInfo().includes('Immediate'); turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    let reason = null;
    if (process.cwd() !== this.home) {
      reason = 'the working directory was changed';
      try {
        process.chdir(this.home);
      } catch {
        // reported already
      }
    }
    for (const folder of this.scratch) {
      try {
        emptyFolder(folder);
      } catch (e) {
        reason ??= `could not empty ${folder}: ${e.message}`;
      }
    }
    const now = activeResources();
    for (const [type, count] of now) {
      if (count > (this.resources.get(type) ?? 0)) {
        reason ??= `the run left ${type} pending`;
      }
    }
    reason ??= compareFingerprints(this.print, fingerprint());
    reason ??= await checkAdaptor();
    return reason;
  }
}
