/**
 * The operation name for anything outside a protocol's fixed vocabulary, as semconv spells it for
 * unknown HTTP methods. A name taken from the wire is recorded only when it is on its protocol's
 * list: an unknown command can be a key, a value or a secret the client sent by mistake.
 */
export const OTHER = '_OTHER';
