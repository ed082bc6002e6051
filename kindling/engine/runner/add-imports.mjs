// Jobs use adaptor functions (`fn`, `get`, `each`) without importing them. Every identifier that is
// used, declared nowhere, and really exported by the adaptor gets imported by name; then
// `export * from "<adaptor>"` lets the runtime find the adaptor's own `execute` (which, for example,
// seeds `references: []`).
import { builders as b, namedTypes as n, visit } from 'ast-types';
import { DEFER_LOCAL_NAME } from './defer-promises.mjs';

// Identifier positions that name something other than a variable.
function isVariableReference(path) {
  const parent = path.parent.node;
  const field = path.name;
  if (n.MemberExpression.check(parent)) {
    return field !== 'property' || parent.computed;
  }
  if (n.Property.check(parent) || n.MethodDefinition.check(parent) || n.ClassProperty.check(parent)) {
    return field !== 'key' || parent.computed;
  }
  if (n.ExportSpecifier.check(parent)) {
    return field === 'local';
  }
  return !(
    n.ImportSpecifier.check(parent) ||
    n.ImportDefaultSpecifier.check(parent) ||
    n.ImportNamespaceSpecifier.check(parent) ||
    n.ExportAllDeclaration.check(parent) ||
    n.MetaProperty.check(parent) ||
    n.LabeledStatement.check(parent) ||
    n.BreakStatement.check(parent) ||
    n.ContinueStatement.check(parent) ||
    n.PrivateName.check(parent)
  );
}

function isDeclared(path, name) {
  for (let scope = path.scope; scope; scope = scope.parent) {
    if (scope.declares(name)) {
      return true;
    }
  }
  return false;
}

// Names used but declared nowhere, in order of first use.
export function findUndeclaredNames(file) {
  const names = new Set();
  visit(file, {
    visitIdentifier(path) {
      const { name } = path.node;
      if (!names.has(name) && isVariableReference(path) && !isDeclared(path, name)) {
        names.add(name);
      }
      this.traverse(path);
    },
  });
  return [...names];
}

function exportsAllFrom(program, source) {
  return program.body.some((statement) => n.ExportAllDeclaration.check(statement) && !statement.exported && statement.source.value === source);
}

export function addRuntimeImport(program) {
  const specifier = b.importSpecifier(b.identifier('defer'), b.identifier(DEFER_LOCAL_NAME));
  program.body.unshift(b.importDeclaration([specifier], b.literal('@openfn/runtime')));
}

// `adaptor` is { name, exports }: the name without version (the linker picks the version) and the
// adaptor's real export names. `beside` lists more adaptors of the same shape (the collections adaptor
// beside a job's own, as Lightning adds it): their used exports are imported by name too, but only the
// job's own adaptor is re-exported, so that the runtime still finds that one's `execute`. A name that
// two adaptors export comes from the first that does, the job's own adaptor first.
export function addAdaptorImports(file, adaptor, beside = []) {
  const program = file.program;
  let undeclared = findUndeclaredNames(file);
  const header = [];
  for (const each of [adaptor, ...beside]) {
    const exported = new Set(each.exports);
    const used = undeclared.filter((name) => exported.has(name));
    if (used.length) {
      header.push(b.importDeclaration(used.map((name) => b.importSpecifier(b.identifier(name))), b.literal(each.name)));
      undeclared = undeclared.filter((name) => !exported.has(name));
    }
  }
  if (!exportsAllFrom(program, adaptor.name)) {
    header.push(b.exportAllDeclaration(b.literal(adaptor.name), null));
  }
  program.body.unshift(...header);
}
