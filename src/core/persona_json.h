
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Escaping for JSON strings and HTML text.  Callers size the output with
 * the _len function, which is exact, then write it with the other one,
 * which returns the end of what it wrote.
 *
 * JSON: the output is the inside of a JSON string, valid JSON and valid
 * UTF-8 whatever the input: '"' and '\' are escaped; control characters
 * and DEL become \n \r \t \b \f or \u00XX; U+2028 and U+2029 become
 * \u2028 and \u2029 (line breaks to JavaScript); every byte that is not
 * part of a well-formed UTF-8 sequence (RFC 3629: overlong forms,
 * surrogates, code points above U+10FFFF, truncated sequences) becomes
 * one \ufffd.  Well-formed UTF-8 input round-trips exactly.
 *
 * HTML: & < > " ' become &amp; &lt; &gt; &quot; &#39;; every other byte,
 * invalid UTF-8 included, is copied as it is.
 */


#ifndef PERSONA_JSON_H
#define PERSONA_JSON_H


#include <stddef.h>


size_t persona_json_escape_len(const unsigned char *p, size_t len);
unsigned char *persona_json_escape(unsigned char *dst, const unsigned char *p,
    size_t len);
size_t persona_html_escape_len(const unsigned char *p, size_t len);
unsigned char *persona_html_escape(unsigned char *dst,
    const unsigned char *p, size_t len);

/* 1 if p is well-formed UTF-8 (RFC 3629), else 0 */
int persona_json_utf8_valid(const unsigned char *p, size_t len);


#endif /* PERSONA_JSON_H */
