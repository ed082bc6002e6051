// The job compiler: OpenFn job DSL in, an ES module whose default export is the array of operations
// out. The transforms run in this order because each relies on the one before: `$` must become
// `state` before anything moves; promise chains become operations before top-level calls move into
// the array; imports are computed last, on the final code.
import * as recast from 'recast';
import { addAdaptorImports, addRuntimeImport } from './add-imports.mjs';
import { deferPromiseChains } from './defer-promises.mjs';
import { convertLazyState } from './lazy-state.mjs';
import { CompileError, SOURCE_FILE_NAME, parse } from './parse.mjs';
import { ensureDefaultExport, moveTopLevelOperations } from './top-level-operations.mjs';

export { CompileError };

// `adaptor`: { name, exports } or null (then nothing is imported); `beside`: more adaptors whose
// exports the job may use (add-imports.mjs).
// Returns { code, sourceMap, operations }; sourceMap carries `operations` as the runtime expects.
export function compile(source, { adaptor = null, beside = [] } = {}) {
  const file = parse(source);
  const program = file.program;

  convertLazyState(file);
  const deferred = deferPromiseChains(program);
  ensureDefaultExport(program);
  const operations = moveTopLevelOperations(program, deferred);
  if (adaptor) {
    addAdaptorImports(file, adaptor, beside);
  }
  if (deferred.size) {
    addRuntimeImport(program);
  }

  const { code, map } = recast.print(file, { quote: 'double', sourceMapName: `${SOURCE_FILE_NAME}.map` });
  // The runtime shows the failing source line from sourcesContent when a job throws.
  const sourceMap = { ...map, sourcesContent: [source], operations };
  return { code, sourceMap, operations };
}
