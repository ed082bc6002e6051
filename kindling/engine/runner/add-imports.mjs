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
// adaptor's real export names.
export function addAdaptorImports(file, adaptor) {
  const program = file.program;
  const exported = new Set(adaptor.exports);
  const used = findUndeclaredNames(file).filter((name) => exported.has(name));
  const header = [];
  if (used.length) {
    header.push(b.importDeclaration(used.map((name) => b.importSpecifier(b.identifier(name))), b.literal(adaptor.name)));
  }
  if (!exportsAllFrom(program, adaptor.name)) {
    header.push(b.exportAllDeclaration(b.literal(adaptor.name), null));
  }
  program.body.unshift(...header);
}
