// The runtime reports an adaptor error in several logger.error() calls:
//
//   Error reported by "get()" operation line 3:
//   Error: GET to http://host/patients/2 returned 404: Not Found      (the stack, or the message)
//       at ...
//   Additional error details:
//   { message, statusCode, statusMessage, url, method, ... }           (the adaptor's error details)
//   Check state.errors.job for details
//
// Kindling says it the way issue 3 asks: "Error reported by get() on line 3", followed by the HTTP
// status and the URL when the adaptor's details carry them (language-http 7.x: statusCode,
// statusMessage, url, method). The details come after the first line, so the report is held back
// until it is complete (its last line, or any other call to the logger, or the end of the run)
// and then written in the same order, with the first line rewritten.

const HEADER = /^Error reported by "(.+)\(\)" operation line (\d+):$/;
const LAST_LINE = /^Check state\.errors\.\S+ for details$/;
const DETAILS_LINE = 'Additional error details:';

function httpPart(details) {
  if (!details || typeof details !== 'object') {
    return '';
  }
  const response = details.response && typeof details.response === 'object' ? details.response : {};
  const status = details.statusCode ?? details.status ?? response.statusCode ?? response.status;
  const url = details.url ?? response.url ?? details.config?.url;
  if (status === undefined && url === undefined) {
    return '';
  }
  const method = typeof details.method === 'string' ? `${details.method.toUpperCase()} ` : '';
  const text = details.statusMessage ?? response.statusText ?? response.statusMessage;
  const said = status === undefined ? '' : `HTTP ${status}${text ? ` ${text}` : ''}`;
  const where = url === undefined ? '' : `${method}${url}`;
  return `: ${[said, where].filter(Boolean).join(' from ')}`;
}

export function describeReport(operation, line, details) {
  return `Error reported by ${operation}() on line ${line}${httpPart(details)}`;
}

// A logger for the runtime that rewrites its adaptor error reports; every other call passes through.
export function withErrorReports(logger) {
  let held = null; // { operation, line, calls: [[method, args]] } while a report is being written

  const release = () => {
    if (held === null) {
      return;
    }
    const { operation, line, calls } = held;
    held = null;
    const at = calls.findIndex(([, args]) => args.length === 1 && args[0] === DETAILS_LINE);
    const details = at >= 0 ? calls[at + 1]?.[1][0] : undefined;
    logger.error(describeReport(operation, line, details));
    for (const [method, args] of calls) {
      logger[method](...args);
    }
  };

  const wrapped = { ...logger };
  for (const [name, method] of Object.entries(logger)) {
    if (typeof method === 'function') {
      wrapped[name] = (...args) => {
        release();
        return method(...args);
      };
    }
  }
  wrapped.error = (...args) => {
    const header = args.length === 1 && typeof args[0] === 'string' ? HEADER.exec(args[0]) : null;
    if (header) {
      release();
      held = { operation: header[1], line: header[2], calls: [] };
      return;
    }
    if (held === null) {
      return logger.error(...args);
    }
    if (args.length) {
      held.calls.push(['error', args]);
    }
    if (args.length === 1 && typeof args[0] === 'string' && LAST_LINE.test(args[0])) {
      release();
    }
  };
  // The runtime's spacer between parts of a report: no line, and it does not end the report.
  wrapped.break = () => {};
  wrapped.flush = release;
  return wrapped;
}
