
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Comma lists ("vip,newsletter": segment lists of the CRM, goals=) and
 * the names configuration gives to experiments, variants, slots,
 * segments and goals.  Items are compared byte for byte; an empty item
 * ("a,,b") is skipped.
 */


#ifndef PERSONA_LIST_H
#define PERSONA_LIST_H


#include <stddef.h>


#define PERSONA_NAME_MAX  64


/*
 * The next item of the list [*p, last): 1 with the item in *item and
 * *len and *p moved past it, or 0 at the end.
 */
int persona_list_next(const unsigned char **p, const unsigned char *last,
    const unsigned char **item, size_t *len);

/* 1 if the list holds the item */
int persona_list_has(const unsigned char *list, size_t llen,
    const unsigned char *item, size_t len);

/*
 * Appends to the list [start, p) the items of another list it does not
 * hold yet; returns the new end.  The room needed is at most
 * len + 1 bytes.
 */
unsigned char *persona_list_merge(unsigned char *start, unsigned char *p,
    const unsigned char *list, size_t len);

/* the number of items */
size_t persona_list_count(const unsigned char *list, size_t len);

/*
 * 1 if name is 1 to PERSONA_NAME_MAX letters, digits and "_", or
 * characters of extra (a C string, may be "").
 */
int persona_name_valid(const unsigned char *name, size_t len,
    const char *extra);


#endif /* PERSONA_LIST_H */
