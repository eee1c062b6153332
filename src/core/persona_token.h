
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * What signed values carry (the signature itself is persona_sign.h).
 * Every parser here reads untrusted bytes whose signature may already
 * have been checked or not; each refuses anything but the exact grammar.
 *
 *   id       ID "." EXPIRES
 *            an id from a link or a header; EXPIRES is Unix seconds, "0"
 *            for no expiry (1 to 12 digits, no leading zero)
 *   cookie   B64(ID) "." B64(PREVIOUS) "." SINCE
 *            the visitor cookie of an id that replaced another one:
 *            PREVIOUS (may be empty) is the id it replaced, SINCE when
 *            (Unix seconds); B64 is base64url without padding
 *   preview  B64(PAYLOAD), PAYLOAD being "&"-separated key=value pairs:
 *            host=HOST (required, once), expires=SECONDS (required,
 *            once), time=UTC (optional, once: 2026-12-24T10:00Z),
 *            set=NAME:VALUE (any number up to PERSONA_PREVIEW_SETS)
 *   sticky   ENTRY *("|" ENTRY), ENTRY = EXPERIMENT ":" VERSION ":"
 *            VARIANT (VERSION 0 to 999999, no leading zero)
 *
 * Names are configuration names (persona_list.h): letters, digits and
 * "_"; content set names (in preview sets) also "-"; variants also "-"
 * and ".".
 */


#ifndef PERSONA_TOKEN_H
#define PERSONA_TOKEN_H


#include <stddef.h>
#include <stdint.h>


#define PERSONA_TOKEN_ID_MAX     256
#define PERSONA_PREVIEW_MAX      1024    /* decoded payload */
#define PERSONA_PREVIEW_SETS     64
#define PERSONA_STICKY_VERSION_MAX  999999


typedef struct {
    const unsigned char   *name;
    size_t                 name_len;
    const unsigned char   *value;      /* variant, rule, or "-" */
    size_t                 value_len;
} persona_preview_set_t;


typedef struct {
    const unsigned char   *host;
    size_t                 host_len;
    int64_t                expires;
    int64_t                time;       /* -1: the real clock */
    size_t                 nsets;
    persona_preview_set_t  set[PERSONA_PREVIEW_SETS];
} persona_preview_t;


typedef struct {
    const unsigned char   *experiment;
    size_t                 experiment_len;
    unsigned long          version;
    const unsigned char   *variant;
    size_t                 variant_len;
} persona_sticky_entry_t;


/* ID "." EXPIRES: 0 with the parts, or -1 */
int persona_token_id(const unsigned char *p, size_t len,
    const unsigned char **id, size_t *idlen, int64_t *expires);

/*
 * The data of a cookie value; id and prev hold PERSONA_TOKEN_ID_MAX
 * bytes each.  0, or -1 when the grammar or a length is wrong.
 */
int persona_token_cookie(const unsigned char *p, size_t len,
    unsigned char *id, size_t *idlen, unsigned char *prev, size_t *prevlen,
    int64_t *since);

/* the length of the cookie data for these values, and the writer */
size_t persona_token_cookie_len(size_t idlen, size_t prevlen);
unsigned char *persona_token_cookie_write(unsigned char *p,
    const unsigned char *id, size_t idlen, const unsigned char *prev,
    size_t prevlen, int64_t since);

/*
 * A decoded preview payload; the pointers of *pv point into p.
 * 0, or -1 when anything is out of the grammar.
 */
int persona_preview_parse(const unsigned char *p, size_t len,
    persona_preview_t *pv);

/*
 * The next entry of sticky data [*p, last): 1 with the entry, 0 at the
 * end, -1 when malformed.
 */
int persona_sticky_next(const unsigned char **p, const unsigned char *last,
    persona_sticky_entry_t *e);


#endif /* PERSONA_TOKEN_H */
