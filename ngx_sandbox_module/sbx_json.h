
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Byte-exact JSON string output for command output and file contents: the
 * bytes may hold NUL and need not be UTF-8, so cJSON (NUL-terminated) is not
 * used for them.  Plain C, shared and unit tested.
 */


#ifndef SBX_JSON_H
#define SBX_JSON_H


#include <stddef.h>
#include <stdint.h>


/* Non-zero when [p, p + len) is well-formed UTF-8 (RFC 3629). */
int sbx_utf8_valid(const uint8_t *p, size_t len);

/*
 * The length of the JSON string literal (with its quotes) that
 * sbx_json_escape() writes for valid UTF-8 input.
 */
size_t sbx_json_escaped_len(const uint8_t *p, size_t len);

/*
 * Writes a JSON string literal, quotes included, for valid UTF-8 input and
 * returns the position after it.  The output has room for
 * sbx_json_escaped_len() bytes.
 */
uint8_t *sbx_json_escape(uint8_t *out, const uint8_t *p, size_t len);

/* The length of the standard base64 (RFC 4648, padded) of len bytes. */
size_t sbx_base64_len(size_t len);

/* Writes the base64 of [p, p + len) and returns the position after it. */
uint8_t *sbx_base64_encode(uint8_t *out, const uint8_t *p, size_t len);


#endif /* SBX_JSON_H */
