// The runtime runs `export default [op1, op2, ...]`. A job is written as a list of calls
// (`fn(a); get(b);`), so those top-level calls move, in order, into that array.
import { builders as b, namedTypes as n } from 'ast-types';

export function ensureDefaultExport(program) {
  if (!program.body.some((statement) => n.ExportDefaultDeclaration.check(statement))) {
    program.body.push(b.exportDefaultDeclaration(b.arrayExpression([])));
  }
}

function calleeName(call) {
  const { callee } = call;
  if (n.Identifier.check(callee)) {
    return callee.name;
  }
  if (n.MemberExpression.check(callee) && !callee.computed && n.Identifier.check(callee.property)) {
    return callee.property.name;
  }
  return null;
}

// `fn(...)`, `http.get(...)`: a call of a name or a member. Other calls (an IIFE) are the job's own
// set-up code and run when the module loads, as written.
function isOperationCall(statement) {
  if (!n.ExpressionStatement.check(statement) || !n.CallExpression.check(statement.expression)) {
    return false;
  }
  const { callee } = statement.expression;
  return n.Identifier.check(callee) || n.MemberExpression.check(callee);
}

// Only when the array is the last statement, as in OpenFn: a default export placed elsewhere
// (or not an array) is left for the runtime to judge.
function moveCallsIntoArray(program) {
  const target = program.body.at(-1);
  if (!n.ExportDefaultDeclaration.check(target) || !n.ArrayExpression.check(target.declaration)) {
    return null;
  }
  const remaining = [];
  for (const statement of program.body) {
    if (isOperationCall(statement)) {
      target.declaration.elements.push(statement.expression);
    } else {
      remaining.push(statement);
    }
  }
  program.body = remaining;
  return target.declaration.elements;
}

// One entry per element of the exported array, in order: the runtime looks entries up by index
// when an adaptor throws, to say which operation (name and source line) reported the error.
function describeOperations(elements, deferred) {
  return elements.map((element, index) => {
    const call = deferred.get(element) ?? element;
    const isCall = n.CallExpression.check(call);
    return {
      name: isCall ? calleeName(call) : null,
      line: call?.loc?.start.line ?? null,
      order: index + 1,
    };
  });
}

export function moveTopLevelOperations(program, deferred) {
  const elements = moveCallsIntoArray(program);
  return elements ? describeOperations(elements, deferred) : [];
}
