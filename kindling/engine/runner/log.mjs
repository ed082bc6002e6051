// Loggers that turn console-style calls into structured lines (level + one message string).
// One of them replaces the global console, so nothing in this file may call console: it would call
// itself until the heap runs out.

const LEVEL_ORDER = { debug: 0, info: 1, success: 2, warn: 2, always: 2, error: 3 };

export const CONSOLE_DISABLED_MESSAGE = '🔒 console has been disabled for this run';

function isError(value) {
  // Errors thrown inside the job's vm context fail `instanceof Error` here (another realm).
  return Object.prototype.toString.call(value) === '[object Error]';
}

// JSON.stringify replacer that never throws: cycles, BigInt, functions, errors, Map and Set all get
// a readable form. A `configuration` object shows its keys only, as OpenFn's logger does; the Python
// side scrubs secret values from every line as well.
function readableReplacer() {
  // The objects on the path from the root to the value being replaced: what JSON.stringify passes
  // as `this` (`holders`, possibly our replacements) and the job's own objects (`originals`).
  const holders = [];
  const originals = [];
  return function replace(key, value) {
    if (key === 'configuration' && value && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).map((k) => [k, '****']));
    }
    if (typeof value === 'bigint') {
      return `${value}n`;
    }
    if (typeof value === 'function') {
      return `[Function: ${value.name || 'anonymous'}]`;
    }
    if (typeof value === 'symbol') {
      return value.toString();
    }
    if (!value || typeof value !== 'object') {
      return value;
    }
    while (holders.length && holders.at(-1) !== this) {
      holders.pop();
      originals.pop();
    }
    if (originals.includes(value)) {
      return '[Circular]';
    }
    let replacement = value;
    if (isError(value)) {
      replacement = { name: value.name, message: value.message, ...value };
    } else if (value instanceof Map) {
      replacement = Object.fromEntries(value);
    } else if (value instanceof Set) {
      replacement = [...value];
    }
    holders.push(replacement);
    originals.push(value);
    return replacement;
  };
}

function formatValue(value) {
  if (typeof value === 'string') {
    return value;
  }
  if (isError(value)) {
    return `${value.name}: ${value.message}`;
  }
  if (value && typeof value === 'object') {
    try {
      return JSON.stringify(value, readableReplacer(), 2) ?? String(value);
    } catch (e) {
      return `[unprintable object: ${e.message}]`;
    }
  }
  if (typeof value === 'function') {
    return `[Function: ${value.name || 'anonymous'}]`;
  }
  return String(value);
}

export function formatMessage(args) {
  return args.map(formatValue).join(' ');
}

function formatDuration(ms) {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(3)}s`;
}

// `emit(level, message)` receives every line at or above `minLevel`. The object is both a console
// (what jobs and adaptors call) and the Logger interface @openfn/runtime calls (timer, break, ...).
export function createLogger(emit, { minLevel = 'debug' } = {}) {
  const threshold = LEVEL_ORDER[minLevel];
  const write = (level) => (...args) => {
    // The runtime calls logger.error() without arguments as a spacer: no line for that.
    if (args.length && LEVEL_ORDER[level] >= threshold) {
      emit(level, formatMessage(args));
    }
  };
  const timers = new Map();
  const counts = new Map();
  const logger = {
    debug: write('debug'),
    trace: write('debug'),
    info: write('info'),
    log: write('info'),
    dir: (value) => write('info')(value),
    table: (value) => write('info')(value),
    warn: write('warn'),
    error: write('error'),
    success: write('success'),
    always: write('always'),
    print: write('info'),
    assert: (condition, ...args) => {
      if (!condition) {
        write('error')('Assertion failed', ...args);
      }
    },
    count: (label = 'default') => {
      counts.set(label, (counts.get(label) ?? 0) + 1);
      write('info')(`${label}: ${counts.get(label)}`);
    },
    countReset: (label = 'default') => counts.delete(label),
    time: (label = 'default') => timers.set(label, Date.now()),
    timeLog: (label = 'default', ...args) => {
      if (timers.has(label)) {
        write('info')(`${label}: ${formatDuration(Date.now() - timers.get(label))}`, ...args);
      }
    },
    timeEnd: (label = 'default') => {
      logger.timeLog(label);
      timers.delete(label);
    },
    // The runtime's timer: the first call starts it, the second returns the elapsed time.
    timer: (name) => {
      if (timers.has(name)) {
        const elapsed = formatDuration(Date.now() - timers.get(name));
        timers.delete(name);
        return elapsed;
      }
      timers.set(name, Date.now());
      return undefined;
    },
    proxy: (...args) => {
      const { level = 'info', message = [] } = args.length === 3 ? { level: args[1], message: args[2] } : args[0];
      write(LEVEL_ORDER[level] === undefined ? 'info' : level)(...message);
    },
    confirm: async () => true,
    break: () => {},
    group: () => {},
    groupCollapsed: () => {},
    groupEnd: () => {},
    clear: () => {},
    options: { level: minLevel },
  };
  return logger;
}

// The job's console when the job has its console switched off: every call prints only the notice.
export function createDisabledConsole(emit) {
  const logger = createLogger(emit);
  const notice = (level) => () => emit(level, CONSOLE_DISABLED_MESSAGE);
  for (const [method, level] of Object.entries({
    debug: 'debug', trace: 'debug', info: 'info', log: 'info', dir: 'info', table: 'info',
    warn: 'warn', error: 'error', success: 'success', always: 'always', print: 'info',
    assert: 'error', count: 'info', timeLog: 'info', timeEnd: 'info',
  })) {
    logger[method] = notice(level);
  }
  return logger;
}
