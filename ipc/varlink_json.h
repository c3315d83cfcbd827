/* A lean JSON parser for the common small messages of the RPC (docs/performance.md, "CPU
 * per call"), in front of json-c's tokener: an object of objects, arrays, plain strings,
 * integers, true, false and null, built as the same json-c objects the tokener would
 * build, without the tokener's per-character state machine and the locale it sets up on
 * every call. It accepts only valid JSON (RFC 8259) and answers -EAGAIN for anything it
 * does not handle, valid or not: a backslash, a control or non-ASCII byte in a string,
 * a number with a fraction, an exponent, a leading zero or more than 18 digits, "-0", a
 * key over 255 bytes, nesting deeper than 16, or any syntax error; the caller then parses
 * with json-c, which decides (so errors are json-c's, as before). The fuzzer
 * tests/fuzz/fuzz_varlink.c checks that json-c parses whatever this accepts to an equal
 * object. */
#ifndef USTACK_IPC_VARLINK_JSON_H
#define USTACK_IPC_VARLINK_JSON_H

#include <stddef.h>

#include <json-c/json.h>

/* text[0, len): one JSON object, whitespace around it. 0 with *out (a new reference),
 * -EAGAIN (parse it with json-c instead) or -ENOMEM. */
int varlink_json_parse_fast(const char *text, size_t len, struct json_object **out);

#endif
