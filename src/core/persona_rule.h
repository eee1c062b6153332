
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The condition language of segments, targets, consent and content
 * rules, compiled once and evaluated per request.  Grammar (docs in
 * docs/conditions.md):
 *
 *   or      := and { "or" and }
 *   and     := not { "and" not }
 *   not     := "not" not | primary
 *   primary := "(" or ")" | "segment(" NAME ")"
 *            | operand [ cmp operand | re-op regex | ["not"] "in" list ]
 *   cmp     := "=" | "!=" | "<" | "<=" | ">" | ">="
 *   re-op   := "~" | "~*" | "!~" | "!~*"
 *   list    := "(" { operand [","] } ")"
 *   operand := $name | ${name} | 'string' | "string" | bare-word
 *
 * Comparisons are numeric when both sides are decimal numbers, byte-wise
 * otherwise; a lone operand is true when non-empty and not "0".
 */


#ifndef PERSONA_RULE_H
#define PERSONA_RULE_H


#include <stddef.h>
#include <stdint.h>


#define PERSONA_RULE_MAX_DEPTH  32
#define PERSONA_RULE_MAX_LEN    4096
#define PERSONA_RULE_MAX_ITEMS  256


typedef struct persona_rule_s  persona_rule_t;


typedef struct {
    void   *(*alloc)(void *ctx, size_t size);
    int     (*variable)(void *ctx, const unsigned char *name, size_t len);
    int     (*segment)(void *ctx, const unsigned char *name, size_t len);
    void   *(*regex)(void *ctx, const unsigned char *re, size_t len,
                     int caseless, char *err, size_t errlen);
    void    *ctx;
} persona_rule_env_t;


typedef struct {
    int     (*variable)(void *ctx, int id, const unsigned char **p,
                        size_t *len);
    int     (*segment)(void *ctx, int id);
    int     (*regex)(void *ctx, void *re, const unsigned char *s,
                     size_t len);
    void    *ctx;
} persona_rule_rt_t;


persona_rule_t *persona_rule_compile(const unsigned char *src, size_t len,
    const persona_rule_env_t *env, char *err, size_t errlen);
int persona_rule_eval(const persona_rule_t *rule, const persona_rule_rt_t *rt);
void persona_rule_segments(const persona_rule_t *rule,
    void (*f)(void *ctx, int id), void *ctx);


#endif /* PERSONA_RULE_H */
