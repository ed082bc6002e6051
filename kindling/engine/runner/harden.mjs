// Freezes the host realm's shared intrinsics, so that a run cannot leave something in them for the
// next run of the same warm process to find (`Array.prototype.stash = secret`, a replaced
// `JSON.parse`). Job code reaches the host realm through any adaptor function
// (`fn.constructor('return this')()`), so its own vm context is not enough.
//
// Freezing a prototype has one well-known cost, the "override mistake": once
// `Error.prototype.name` is read-only, `this.name = 'HTTPError'` in an error class of an HTTP
// client fails (and throws in strict code) although the program only meant to give its own object
// its own property. For the properties that programs commonly set on their own objects, the data
// property becomes an accessor whose setter defines the property on the object being assigned to,
// and refuses only an assignment to the shared prototype itself.
import { Buffer } from 'node:buffer';

// Listed when a process hardens itself, not at import: in the runner's startup snapshot, this
// module's top level ran while the snapshot was built (and Atomics is not defined there).
function sharedPrototypes() {
  const TypedArray = Object.getPrototypeOf(Uint8Array);
  return [
    Object.prototype,
    Function.prototype,
    Array.prototype,
    Error.prototype,
    TypeError.prototype,
    RangeError.prototype,
    SyntaxError.prototype,
    ReferenceError.prototype,
    EvalError.prototype,
    URIError.prototype,
    Promise.prototype,
    String.prototype,
    Number.prototype,
    Boolean.prototype,
    Symbol.prototype,
    BigInt.prototype,
    RegExp.prototype,
    Date.prototype,
    Map.prototype,
    Set.prototype,
    WeakMap.prototype,
    WeakSet.prototype,
    ArrayBuffer.prototype,
    TypedArray.prototype,
    Uint8Array.prototype,
    Buffer.prototype,
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())),
  ];
}

function sharedNamespaces() {
  return [Math, JSON, Reflect, Atomics, Intl, Buffer];
}
// Own properties of these names are assigned to ordinary objects in everyday code.
const OVERRIDABLE = new Set(['constructor', 'name', 'message', 'stack', 'toString', 'toLocaleString', 'valueOf', 'toJSON', 'then', 'catch', 'finally']);

function makeOverridable(prototype, key) {
  const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
  if (!descriptor || !('value' in descriptor) || !descriptor.configurable) {
    return;
  }
  const { value } = descriptor;
  Object.defineProperty(prototype, key, {
    get() {
      return value;
    },
    set(newValue) {
      if (this === prototype) {
        throw new TypeError(`Cannot change ${String(key)} of a shared prototype`);
      }
      Object.defineProperty(this, key, { value: newValue, writable: true, enumerable: true, configurable: true });
    },
    enumerable: descriptor.enumerable,
    configurable: false,
  });
}

export function hardenIntrinsics() {
  for (const prototype of sharedPrototypes()) {
    const keys = prototype === Object.prototype ? Reflect.ownKeys(prototype) : [...OVERRIDABLE];
    for (const key of keys) {
      makeOverridable(prototype, key);
    }
    Object.freeze(prototype);
  }
  for (const namespace of sharedNamespaces()) {
    Object.freeze(namespace);
  }
}
