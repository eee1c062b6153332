
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Time zone rules from TZif files (RFC 8536), read at configuration time,
 * then the UTC offset at any instant with a binary search over the
 * transitions, or the POSIX TZ rule of the footer after the last one.
 * No libc time zone state is touched.
 */


#ifndef PERSONA_TZ_H
#define PERSONA_TZ_H


#include <stddef.h>
#include <stdint.h>


typedef struct persona_tz_s  persona_tz_t;


persona_tz_t *persona_tz_parse(const unsigned char *data, size_t len,
    void *(*alloc)(void *ctx, size_t size), void *actx, char *err,
    size_t errlen);
persona_tz_t *persona_tz_parse_posix(const unsigned char *s, size_t len,
    void *(*alloc)(void *ctx, size_t size), void *actx, char *err,
    size_t errlen);
int32_t persona_tz_offset(const persona_tz_t *tz, int64_t t);
void persona_tz_local(int64_t t, int32_t offset, int *hour, int *wday);

/*
 * A UTC instant as configuration writes it: "2026-12-01",
 * "2026-12-01T09:30Z" or "2026-12-01T09:30:15Z", years 1970 to 9999.
 * Returns 0 and the seconds since the epoch in *t, or -1.
 */
int persona_tz_parse_utc(const unsigned char *p, size_t len, int64_t *t);


#endif /* PERSONA_TZ_H */
