
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Escaping for JSON strings (always valid JSON and valid UTF-8) and HTML
 * text.  Callers size the output with the _len function first.
 */


#ifndef PERSONA_JSON_H
#define PERSONA_JSON_H


#include <stddef.h>
#include <stdint.h>


size_t persona_json_escape_len(const unsigned char *p, size_t len);
unsigned char *persona_json_escape(unsigned char *dst, const unsigned char *p,
    size_t len);
size_t persona_html_escape_len(const unsigned char *p, size_t len);
unsigned char *persona_html_escape(unsigned char *dst,
    const unsigned char *p, size_t len);
size_t persona_utf8_valid(const unsigned char *p, size_t len);


#endif /* PERSONA_JSON_H */
