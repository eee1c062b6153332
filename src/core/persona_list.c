
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Comma lists and names (see persona_list.h).
 */


#include <string.h>

#include "persona_list.h"


int
persona_list_next(const unsigned char **p, const unsigned char *last,
    const unsigned char **item, size_t *len)
{
    const unsigned char  *s, *comma;

    for (s = *p; s < last; s = comma + 1) {
        comma = memchr(s, ',', last - s);
        if (comma == NULL) {
            comma = last;
        }

        if (comma > s) {
            *item = s;
            *len = comma - s;
            *p = (comma < last) ? comma + 1 : last;
            return 1;
        }

        if (comma == last) {
            break;
        }
    }

    *p = last;

    return 0;
}


int
persona_list_has(const unsigned char *list, size_t llen,
    const unsigned char *item, size_t len)
{
    size_t                n;
    const unsigned char  *s, *last;

    last = list + llen;

    while (persona_list_next(&list, last, &s, &n)) {
        if (n == len && memcmp(s, item, len) == 0) {
            return 1;
        }
    }

    return 0;
}


unsigned char *
persona_list_merge(unsigned char *start, unsigned char *p,
    const unsigned char *list, size_t len)
{
    size_t                n;
    const unsigned char  *s, *last;

    last = list + len;

    while (persona_list_next(&list, last, &s, &n)) {
        if (persona_list_has(start, p - start, s, n)) {
            continue;
        }

        if (p != start) {
            *p++ = ',';
        }

        memcpy(p, s, n);
        p += n;
    }

    return p;
}


size_t
persona_list_count(const unsigned char *list, size_t len)
{
    size_t                n, count;
    const unsigned char  *s, *last;

    last = list + len;
    count = 0;

    while (persona_list_next(&list, last, &s, &n)) {
        count++;
    }

    return count;
}


int
persona_name_valid(const unsigned char *name, size_t len, const char *extra)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > PERSONA_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = name[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_'
            || (c != '\0' && strchr(extra, c) != NULL))
        {
            continue;
        }

        return 0;
    }

    return 1;
}
