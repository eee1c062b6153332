
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Checks a record of a MaxMind DB data section before libmaxminddb is
 * trusted with it: types, sizes, pointers and nesting, with bounded work.
 */


#ifndef PERSONA_MMDB_H
#define PERSONA_MMDB_H


#include <stddef.h>
#include <stdint.h>


#define PERSONA_MMDB_MAX_DEPTH  32

/* the longest text of persona_mmdb_format_double(): "-999999999999999.9999" */
#define PERSONA_MMDB_DOUBLE_LEN 21


typedef struct {
    const unsigned char   *data;        /* the data section */
    size_t                 size;
    unsigned char         *seen;        /* size / 8 + 1 bytes, zeroed */
    uint64_t               budget;      /* values left to decode */
    char                  *err;
    size_t                 errlen;
} persona_mmdb_check_t;


/* 0 if the record at offset decodes, -1 with ck->err set otherwise */
int persona_mmdb_check_record(persona_mmdb_check_t *ck, uint32_t offset);

/*
 * d as text in buf (NUL-terminated), at most PERSONA_MMDB_DOUBLE_LEN
 * characters whatever d is; the length, or -1 for NaN and infinities or
 * a buffer shorter than PERSONA_MMDB_DOUBLE_LEN + 1
 */
int persona_mmdb_format_double(char *buf, size_t size, double d);

/* offset of the metadata after the last marker in the last 128 KB, or -1 */
int64_t persona_mmdb_metadata(const unsigned char *file, size_t size);


#endif /* PERSONA_MMDB_H */
