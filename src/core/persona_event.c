
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Event lines from a field table (see persona_event.h).
 */


#include <string.h>

#include "persona_event.h"
#include "persona_json.h"
#include "persona_list.h"


static size_t persona_event_value_len(const persona_event_field_t *f);
static unsigned char *persona_event_value(unsigned char *p,
    const persona_event_field_t *f);


size_t
persona_event_len(const persona_event_field_t *f, size_t n)
{
    size_t  i, len;

    len = 2;                                    /* { } */

    for (i = 0; i < n; i++) {
        if (f[i].type == PERSONA_EVENT_SKIP) {
            continue;
        }

        len += 1 + f[i].key_len + 3             /* ,"key": */
               + persona_event_value_len(&f[i]);
    }

    return len - (len > 2);                     /* no comma before first */
}


unsigned char *
persona_event_write(unsigned char *p, const persona_event_field_t *f,
    size_t n)
{
    size_t          i;
    unsigned char  *start;

    *p++ = '{';
    start = p;

    for (i = 0; i < n; i++) {
        if (f[i].type == PERSONA_EVENT_SKIP) {
            continue;
        }

        if (p != start) {
            *p++ = ',';
        }

        *p++ = '"';
        memcpy(p, f[i].key, f[i].key_len);
        p += f[i].key_len;
        *p++ = '"';
        *p++ = ':';

        p = persona_event_value(p, &f[i]);
    }

    *p++ = '}';

    return p;
}


static size_t
persona_event_value_len(const persona_event_field_t *f)
{
    size_t                n, len;
    const unsigned char  *p, *last, *s;

    switch (f->type) {

    case PERSONA_EVENT_STR:
        return 2 + persona_json_escape_len(f->data, f->len);

    case PERSONA_EVENT_NAME:
        return 2 + f->len;

    case PERSONA_EVENT_LIST:
        len = 2;
        p = f->data;
        last = p + f->len;

        while (persona_list_next(&p, last, &s, &n)) {
            len += 3 + persona_json_escape_len(s, n);
        }

        return len - (len > 2);

    default:
        return f->len;
    }
}


static unsigned char *
persona_event_value(unsigned char *p, const persona_event_field_t *f)
{
    size_t                n;
    unsigned char        *start;
    const unsigned char  *s, *q, *last;

    switch (f->type) {

    case PERSONA_EVENT_STR:
        *p++ = '"';
        p = persona_json_escape(p, f->data, f->len);
        *p++ = '"';
        return p;

    case PERSONA_EVENT_NAME:
        *p++ = '"';
        if (f->len) {
            memcpy(p, f->data, f->len);
            p += f->len;
        }
        *p++ = '"';
        return p;

    case PERSONA_EVENT_LIST:
        *p++ = '[';
        start = p;
        q = f->data;
        last = q + f->len;

        while (persona_list_next(&q, last, &s, &n)) {
            if (p != start) {
                *p++ = ',';
            }

            *p++ = '"';
            p = persona_json_escape(p, s, n);
            *p++ = '"';
        }

        *p++ = ']';
        return p;

    default:
        if (f->len) {
            memcpy(p, f->data, f->len);
        }
        return p + f->len;
    }
}
