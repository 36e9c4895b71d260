
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Finds one field of a multipart/form-data body (RFC 7578) without
 * holding the body in memory: the body is read through a callback, a
 * window at a time, so that an upload nginx kept in a temporary file is
 * scanned in place and its part sent on as a range of that file.  Plain
 * C, no dependency.
 */


#ifndef SBX_MULTIPART_H
#define SBX_MULTIPART_H


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define SBX_MP_BOUNDARY_MAX   70      /* RFC 2046 */
#define SBX_MP_HEADERS_MAX    8192    /* of one part */
#define SBX_MP_FILENAME_MAX   255


/* Reads up to len bytes at offset; returns the count, or -1. */
typedef ssize_t (*sbx_mp_read_pt)(void *data, uint8_t *buf, size_t len,
    off_t offset);


typedef struct {
    off_t     start;                      /* the part's content */
    off_t     end;
    char      filename[SBX_MP_FILENAME_MAX + 1];
    int       has_filename;
} sbx_mp_part_t;


/*
 * The boundary parameter of a Content-Type header value: 1 with *b and
 * *len set, 0 when it is not multipart/form-data with a valid boundary.
 */
int sbx_multipart_boundary(const char *type, size_t type_len,
    const char **b, size_t *len);

/*
 * Finds the part named field in a body of total bytes.  Returns 1 when
 * found, 0 when the body has no such part, -1 when it is malformed or
 * cannot be read (*err says why).
 */
int sbx_multipart_find(const char *boundary, size_t blen, off_t total,
    sbx_mp_read_pt read, void *data, const char *field, sbx_mp_part_t *part,
    const char **err);


#endif /* SBX_MULTIPART_H */
