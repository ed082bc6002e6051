// Fresh module instances for every run, without memory that grows run after run.
//
// OpenFn's runtime gives each run its own instance of the adaptor by importing `<entry>?cache=<key>`
// with a new key. Node's module loader keeps every such import for the life of the process (and asks
// the loader thread to resolve and load each one), and Node 20 never frees a vm.SourceTextModule
// created in a context of its own: the job's module keeps its whole vm context alive. Together that is
// about 0.23 MB and 2.5 ms of CPU per run, so a warm process grew by ~45 MB every 200 runs.
//
// Here the runtime's linker is replaced (its `linker.linker` option) by one that behaves the same way
// (whitelist, entry point in the adaptor repository, the "Resolved adaptor" line, the same errors, the
// same unwrapping of a CommonJS-style default export) but builds the run's instance of an ES module
// entry itself, as a vm.SourceTextModule that imports the entry's dependencies as they were already
// loaded (they are shared between runs under the runtime's cache key too). Every SourceTextModule made
// while a run goes on (the job's own, and these instances) is released when the run ends, so that V8
// can collect it with its context. An entry that is not an ES module (an old CommonJS adaptor) is
// imported the runtime's way.
import { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import * as runtime from '@openfn/runtime';
import { ImportError, getModuleEntryPoint, registerEsmHook } from '@openfn/runtime';
import { importModule, resolveSpecifier } from './imports.mjs';

// OpenFn's runtime registers a module resolve hook in every process, for adaptors that import files
// without their extension; Node runs such hooks in a thread of their own (~10 MB more per process, and
// every import first goes there and back). It is registered here the first time an import needs it:
// `load(again)` is called once more, and must then import by a new URL (Node keeps a failed import).
let esmHookRegistered = false;

export async function withEsmHookIfNeeded(load) {
  try {
    return await load(false);
  } catch (e) {
    if (esmHookRegistered || e?.code !== 'ERR_MODULE_NOT_FOUND') {
      throw e;
    }
    registerEsmHook();
    esmHookRegistered = true;
    // import.meta.resolve does not check that a file exists: what it gave without the hook
    // ('./lib' -> '.../lib') is resolved again, through the hook ('.../lib.js').
    for (const file of entryFiles.values()) {
      file?.resolved.clear();
    }
    return load(true);
  }
}

let active = null; // the RunModules of the run going on: its SourceTextModules are released with it

// Node 20 registers the import callbacks of every SourceTextModule in a table that its own compiled
// code keeps alive, and the module in turn keeps its wrapper and context alive: a cycle through a
// handle V8 cannot see through. Dropping the module's internal fields once it is no longer used breaks
// the cycle. (Node 22 collects such modules on its own.)
// (Without --experimental-vm-modules there is nothing to patch, and main.mjs refuses to start.)
// Done when this module loads; in the runner's startup snapshot, where it loaded before the process
// had vm.SourceTextModule, main() does it (trackModules) once the process has started.
let tracking = false;

export function trackModules() {
  if (tracking || typeof vm.SourceTextModule !== 'function') {
    return;
  }
  tracking = true;
  const NativeSourceTextModule = vm.SourceTextModule;
  vm.SourceTextModule = class SourceTextModule extends NativeSourceTextModule {
    constructor(source, options) {
      super(source, options);
      active?.made.push(this);
      if (options?.context) {
        active?.contexts.add(options.context);
      }
    }
  };
  syncBuiltinESMExports(); // the runtime reads it from its `import * as vm from "vm"`
}

trackModules();

function release(module) {
  for (const field of Object.getOwnPropertySymbols(module)) {
    delete module[field];
  }
}

// A job's vm context can outlive its run a little: a heap snapshot taken by the next run found the
// previous run's context still held by one of Node's handles (one context at a time, replaced by a
// later one: not a growing leak). Its globals (the run's initial `state`, credential included, and
// whatever the job defined) are emptied when the run ends, so that the next run cannot find them
// there (tests/engine/test_pool.py probes for the credential).
function empty(context) {
  for (const key of Reflect.ownKeys(context)) {
    const property = Object.getOwnPropertyDescriptor(context, key);
    if (property.configurable) {
      delete context[key];
    } else if (property.writable) {
      context[key] = undefined;
    }
  }
}

// The names (and values) the runtime's linker exposes for a module namespace.
export function linkedTarget(namespace) {
  if (namespace.__esModule && namespace.default?.default) {
    return namespace.default.default;
  }
  const keys = Object.keys(namespace);
  if (keys.length === 1 && namespace.default && Object.keys(namespace.default).length > 0) {
    return namespace.default;
  }
  return namespace;
}

function isEsModule(path) {
  if (path.endsWith('.mjs')) {
    return true;
  }
  if (!path.endsWith('.js')) {
    return false;
  }
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type === 'module';
    } catch (e) {
      if (e.code !== 'ENOENT' || dirname(dir) === dir) {
        return false;
      }
    }
  }
}

// What is known of one ES module file: read, compiled and its imports resolved once per process.
class EntryFile {
  constructor(path) {
    this.path = path;
    this.url = pathToFileURL(path).href;
    this.source = readFileSync(path, 'utf8');
    this.cachedData = undefined; // V8's code cache, taken after the first instance ran
    this.resolved = new Map(); // specifier -> URL
  }

  resolve(specifier) {
    let url = this.resolved.get(specifier);
    if (url === undefined) {
      url = resolveSpecifier(specifier, this.url); // needs --experimental-import-meta-resolve
      this.resolved.set(specifier, url);
    }
    return url;
  }
}

const entryFiles = new Map(); // path -> EntryFile, or null when the file is not an ES module
// A dependency as the entry imports it: its namespace as loaded once by Node, one module per URL.
const dependencies = new Map(); // URL -> Promise<vm.SyntheticModule>

function dependency(url, again) {
  let module = dependencies.get(url);
  if (!module) {
    const retry = again && url.startsWith('file:');
    module = importModule(retry ? `${url}${url.includes('?') ? '&' : '?'}esm-hook` : url).then(async (namespace) => {
      const names = Object.keys(namespace);
      const wrapped = new vm.SyntheticModule(names, function () {
        for (const name of names) {
          this.setExport(name, namespace[name]);
        }
      }, { identifier: url });
      await wrapped.link(() => {});
      await wrapped.evaluate();
      return wrapped;
    });
    module.catch(() => dependencies.delete(url)); // a failure is not kept: the next run tries again
    dependencies.set(url, module);
  }
  return module;
}

// Installed adaptor versions never change in place: where a versioned specifier points is kept.
const entryPoints = new Map();

async function entryPoint(specifierWithVersion, path, repo, log) {
  const key = `${specifierWithVersion}\n${path}\n${repo}`;
  if (entryPoints.has(key)) {
    return entryPoints.get(key);
  }
  const entry = await getModuleEntryPoint(specifierWithVersion, path, repo, log);
  if (entry && specifierWithVersion.lastIndexOf('@') > 0) {
    entryPoints.set(key, entry);
  }
  return entry;
}

// The modules of one run: hand `linker` to the runtime, call `release()` when the run is over.
export class RunModules {
  constructor(cacheKey) {
    this.cacheKey = cacheKey; // for entries imported the runtime's way
    this.made = [];
    this.contexts = new Set();
    this.namespaces = new Map(); // entry path -> this run's instance
    this.linker = this.linker.bind(this);
    active = this;
  }

  release() {
    if (active === this) {
      active = null;
    }
    for (const module of this.made.splice(0)) {
      release(module);
    }
    for (const context of this.contexts) {
      empty(context);
    }
    this.contexts.clear();
  }

  // The instance of the module at `path` this run was given, if it was given one.
  given(path) {
    return this.namespaces.get(path);
  }

  // This run's instance of the module at `path` (an adaptor's entry point): evaluated afresh once per
  // run, whatever number of the job's imports name it.
  async instance(path) {
    let namespace = this.namespaces.get(path);
    if (!namespace) {
      namespace = this.#evaluate(path);
      this.namespaces.set(path, namespace);
    }
    return namespace;
  }

  async #evaluate(path) {
    if (!entryFiles.has(path)) {
      entryFiles.set(path, isEsModule(path) ? new EntryFile(path) : null);
    }
    const file = entryFiles.get(path);
    if (!file) {
      const url = `${pathToFileURL(path).href}?cache=${this.cacheKey}`;
      return withEsmHookIfNeeded((again) => importModule(again ? `${url}-esm-hook` : url));
    }
    return withEsmHookIfNeeded((again) => this.#instantiate(file, again));
  }

  async #instantiate(file, again) {
    const module = new vm.SourceTextModule(file.source, {
      identifier: file.url,
      cachedData: file.cachedData,
      initializeImportMeta(meta) {
        meta.url = file.url;
        meta.filename = file.path;
        meta.dirname = dirname(file.path);
        meta.resolve = (specifier) => file.resolve(specifier);
      },
      importModuleDynamically: (specifier) => withEsmHookIfNeeded(async (again) => {
        const url = file.resolve(specifier);
        return importModule(again && url.startsWith('file:') ? `${url}?esm-hook` : url);
      }),
    });
    await module.link((specifier) => dependency(file.resolve(specifier), again));
    if (file.cachedData === undefined) {
      file.cachedData = module.createCachedData(); // only possible before it runs
    }
    await module.evaluate();
    return module.namespace;
  }

  // The runtime's linker (modules/linker.ts), with this run's instances.
  async linker(specifier, context, options = {}) {
    const { whitelist, log } = options;
    log?.debug(`[linker] loading module ${specifier}`);
    if (whitelist && !whitelist.find((pattern) => pattern.exec(specifier))) {
      throw new ImportError(`module blacklisted: ${specifier}`);
    }
    const target = linkedTarget(await this.#load(specifier, options));
    const names = Object.keys(target);
    const module = new vm.SyntheticModule(names, function () {
      for (const name of names) {
        this.setExport(name, target[name]);
      }
    }, { context });
    await module.link(() => {});
    await module.evaluate();
    return module;
  }

  async #load(specifier, options) {
    const { log } = options;
    if (specifier === '@openfn/runtime') {
      return runtime; // the runner's own instance (in the snapshot, the one built into it)
    }
    if (specifier.startsWith('/') && specifier.endsWith('.js')) {
      return this.instance(specifier);
    }
    let { path, version } = options.modules?.[specifier] ?? {};
    if (path || options.repo) {
      const entry = await entryPoint(version ? `${specifier}@${version}` : specifier, path, options.repo, log);
      if (entry) {
        ({ path, version } = entry);
      } else {
        log?.debug(`module not found in repo: ${specifier}`);
      }
    }
    if (!path) {
      throw new ImportError(`Failed to import module "${specifier}"`);
    }
    let namespace;
    try {
      namespace = await this.instance(path);
    } catch (e) {
      log?.debug(`[linker] Failed to import module ${specifier} from ${path}`);
      throw new ImportError(`Failed to import module ${specifier} from ${path} (${e.message || 'reason unknown'})`);
    }
    if (specifier.startsWith('@openfn/language-')) {
      log?.info(`Resolved adaptor ${specifier} to version ${version}`);
    }
    return namespace;
  }
}

