
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Event lines: one JSON object built from a table of fields, so that the
 * length of a line and the line itself come from one description.  The
 * caller lists the fields in the order they are written; a field whose
 * type is PERSONA_EVENT_SKIP is left out.
 *
 *   STR    a string, JSON-escaped here ("" when empty)
 *   NAME   a string known to need no escaping (configuration names)
 *   RAW    JSON written as it is: a number, true, an object
 *   LIST   a comma list written as an array of strings: a,b -> ["a","b"]
 *
 * Keys are written as they are.
 */


#ifndef PERSONA_EVENT_H
#define PERSONA_EVENT_H


#include <stddef.h>


typedef enum {
    PERSONA_EVENT_SKIP = 0,
    PERSONA_EVENT_STR,
    PERSONA_EVENT_NAME,
    PERSONA_EVENT_RAW,
    PERSONA_EVENT_LIST
} persona_event_type_e;


typedef struct {
    const char            *key;
    size_t                 key_len;
    persona_event_type_e   type;
    const unsigned char   *data;
    size_t                 len;
} persona_event_field_t;


/* the exact length of the line, without a line break */
size_t persona_event_len(const persona_event_field_t *f, size_t n);

/* writes the line; returns its end */
unsigned char *persona_event_write(unsigned char *p,
    const persona_event_field_t *f, size_t n);


#endif /* PERSONA_EVENT_H */
