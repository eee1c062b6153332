
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Compiler and evaluator of conditions (grammar in persona_rule.h).  The
 * compiler is a recursive-descent parser bounded by the nesting limit; it
 * builds a small tree in memory from the caller's allocator, with literal
 * numbers parsed once.  Evaluation short-circuits, so a variable or a
 * segment is only asked for when its value decides something.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persona_rule.h"


enum {
    PERSONA_RULE_OR = 0,
    PERSONA_RULE_AND,
    PERSONA_RULE_NOT,
    PERSONA_RULE_CMP,
    PERSONA_RULE_REGEX,
    PERSONA_RULE_IN,
    PERSONA_RULE_TRUTHY,
    PERSONA_RULE_SEGMENT
};

enum {
    PERSONA_RULE_EQ = 0,
    PERSONA_RULE_NE,
    PERSONA_RULE_LT,
    PERSONA_RULE_LE,
    PERSONA_RULE_GT,
    PERSONA_RULE_GE
};

enum {
    PERSONA_TOK_END = 0,
    PERSONA_TOK_LPAREN,
    PERSONA_TOK_RPAREN,
    PERSONA_TOK_COMMA,
    PERSONA_TOK_OP,
    PERSONA_TOK_STRING,
    PERSONA_TOK_WORD,
    PERSONA_TOK_VAR,
    PERSONA_TOK_ERROR
};


typedef struct {
    int                     var;        /* -1: literal */
    const unsigned char    *s;
    size_t                  len;
    int                     isnum;
    double                  num;
} persona_operand_t;


typedef struct persona_rule_node_s  persona_rule_node_t;

struct persona_rule_node_s {
    int                     type;
    int                     op;         /* cmp op; regex: negated */
    persona_rule_node_t    *a;
    persona_rule_node_t    *b;
    persona_operand_t       l;
    persona_operand_t       r;
    void                   *re;
    persona_operand_t      *items;
    size_t                  nitems;
    int                     neg;        /* "not in" */
    int                     seg;
};


struct persona_rule_s {
    persona_rule_node_t    *root;
};


typedef struct {
    const unsigned char    *src;
    const unsigned char    *p;
    const unsigned char    *end;
    const persona_rule_env_t *env;
    char                   *err;
    size_t                  errlen;
    int                     depth;

    /* current token */
    int                     tok;
    const unsigned char    *ts;
    size_t                  tlen;
    unsigned char          *sval;       /* unescaped string */
    size_t                  slen;
} persona_rule_parser_t;


static void persona_rule_next(persona_rule_parser_t *ps);
static persona_rule_node_t *persona_rule_or(persona_rule_parser_t *ps);
static persona_rule_node_t *persona_rule_and(persona_rule_parser_t *ps);
static persona_rule_node_t *persona_rule_not(persona_rule_parser_t *ps);
static persona_rule_node_t *persona_rule_primary(persona_rule_parser_t *ps);
static int persona_rule_operand(persona_rule_parser_t *ps,
    persona_operand_t *o);
static int persona_rule_number(const unsigned char *p, size_t len,
    double *v);
static int persona_rule_eval_node(const persona_rule_node_t *n,
    const persona_rule_rt_t *rt);


#define persona_rule_pos(ps, at)  ((int) ((at) - (ps)->src) + 1)


static void
persona_rule_error(persona_rule_parser_t *ps, const unsigned char *at,
    const char *fmt, const char *what, size_t wlen)
{
    char  msg[256];

    if (ps->err[0] != '\0') {
        return;
    }

    if (wlen > 40) {
        wlen = 40;
    }

    snprintf(msg, sizeof(msg), fmt, (int) wlen, what);
    snprintf(ps->err, ps->errlen, "%s at position %d", msg,
             persona_rule_pos(ps, at));
}


static void
persona_rule_unexpected(persona_rule_parser_t *ps)
{
    if (ps->tok == PERSONA_TOK_END) {
        persona_rule_error(ps, ps->ts, "unexpected end%.*s", "", 0);
        return;
    }

    persona_rule_error(ps, ps->ts, "unexpected \"%.*s\"",
                       (const char *) ps->ts, ps->tlen);
}


static void *
persona_rule_alloc(persona_rule_parser_t *ps, size_t size)
{
    void  *p;

    p = ps->env->alloc(ps->env->ctx, size);

    if (p == NULL) {
        snprintf(ps->err, ps->errlen, "out of memory");
        return NULL;
    }

    memset(p, 0, size);

    return p;
}


static int
persona_rule_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


static int
persona_rule_word_char(unsigned char c)
{
    return !(persona_rule_space(c) || c == '(' || c == ')' || c == '\''
             || c == '"' || c == '=' || c == '!' || c == '<' || c == '>'
             || c == '~' || c == ',' || c == '\0');
}


static int
persona_rule_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}


static void
persona_rule_next(persona_rule_parser_t *ps)
{
    unsigned char         q, *d;
    const unsigned char  *p;

    p = ps->p;

    while (p < ps->end && persona_rule_space(*p)) {
        p++;
    }

    ps->ts = p;
    ps->tlen = 0;

    if (p == ps->end) {
        ps->tok = PERSONA_TOK_END;
        ps->p = p;
        return;
    }

    switch (*p) {

    case '(':
        ps->tok = PERSONA_TOK_LPAREN;
        p++;
        break;

    case ')':
        ps->tok = PERSONA_TOK_RPAREN;
        p++;
        break;

    case ',':
        ps->tok = PERSONA_TOK_COMMA;
        p++;
        break;

    case '=':
    case '<':
    case '>':
    case '!':
    case '~':
        ps->tok = PERSONA_TOK_OP;

        if (*p == '~') {
            p++;
            p += (p < ps->end && *p == '*');

        } else if (*p == '!' && p + 1 < ps->end && p[1] == '~') {
            p += 2;
            p += (p < ps->end && *p == '*');

        } else if (*p == '=') {
            p++;

        } else {
            p++;
            p += (p < ps->end && *p == '=');
        }

        break;

    case '\'':
    case '"':
        q = *p++;
        ps->tok = PERSONA_TOK_STRING;

        ps->sval = persona_rule_alloc(ps, ps->end - p + 1);
        if (ps->sval == NULL) {
            ps->tok = PERSONA_TOK_ERROR;
            return;
        }

        d = ps->sval;

        while (p < ps->end && *p != q) {
            if (*p == '\\' && p + 1 < ps->end
                && (p[1] == q || p[1] == '\\' || p[1] == '\'' || p[1] == '"'))
            {
                p++;
            }

            *d++ = *p++;
        }

        if (p == ps->end) {
            persona_rule_error(ps, ps->ts, "unterminated string%.*s", "", 0);
            ps->tok = PERSONA_TOK_ERROR;
            ps->p = p;
            return;
        }

        ps->slen = d - ps->sval;
        p++;
        break;

    case '$':
        p++;
        ps->tok = PERSONA_TOK_VAR;

        if (p < ps->end && *p == '{') {
            p++;

            while (p < ps->end && persona_rule_name_char(*p)) {
                p++;
            }

            if (p == ps->end || *p != '}' || p == ps->ts + 2) {
                persona_rule_error(ps, ps->ts, "invalid variable%.*s", "",
                                   0);
                ps->tok = PERSONA_TOK_ERROR;
                ps->p = p;
                return;
            }

            ps->sval = (unsigned char *) ps->ts + 2;
            ps->slen = p - ps->ts - 2;
            p++;
            break;
        }

        while (p < ps->end && persona_rule_name_char(*p)) {
            p++;
        }

        if (p == ps->ts + 1) {
            persona_rule_error(ps, ps->ts, "invalid variable%.*s", "", 0);
            ps->tok = PERSONA_TOK_ERROR;
            ps->p = p;
            return;
        }

        ps->sval = (unsigned char *) ps->ts + 1;
        ps->slen = p - ps->ts - 1;
        break;

    default:
        ps->tok = PERSONA_TOK_WORD;

        while (p < ps->end && persona_rule_word_char(*p)) {
            p++;
        }

        if (p == ps->ts) {
            /* a NUL byte or another character no token starts with */
            p++;
            ps->tlen = 1;
            ps->p = p;
            persona_rule_unexpected(ps);
            ps->tok = PERSONA_TOK_ERROR;
            return;
        }

        ps->sval = (unsigned char *) ps->ts;
        ps->slen = p - ps->ts;
    }

    ps->tlen = p - ps->ts;
    ps->p = p;
}


static int
persona_rule_keyword(persona_rule_parser_t *ps, const char *kw)
{
    size_t  n;

    n = strlen(kw);

    return ps->tok == PERSONA_TOK_WORD && ps->tlen == n
           && memcmp(ps->ts, kw, n) == 0;
}


persona_rule_t *
persona_rule_compile(const unsigned char *src, size_t len,
    const persona_rule_env_t *env, char *err, size_t errlen)
{
    persona_rule_t         *rule;
    persona_rule_parser_t   ps;

    err[0] = '\0';

    if (len > PERSONA_RULE_MAX_LEN) {
        snprintf(err, errlen, "condition longer than %d bytes",
                 PERSONA_RULE_MAX_LEN);
        return NULL;
    }

    memset(&ps, 0, sizeof(ps));

    ps.src = src;
    ps.p = src;
    ps.end = src + len;
    ps.env = env;
    ps.err = err;
    ps.errlen = errlen;

    persona_rule_next(&ps);

    if (ps.tok == PERSONA_TOK_END) {
        snprintf(err, errlen, "empty condition");
        return NULL;
    }

    rule = persona_rule_alloc(&ps, sizeof(persona_rule_t));
    if (rule == NULL) {
        return NULL;
    }

    rule->root = persona_rule_or(&ps);

    if (rule->root == NULL) {
        return NULL;
    }

    if (ps.tok != PERSONA_TOK_END) {
        if (ps.tok != PERSONA_TOK_ERROR) {
            persona_rule_unexpected(&ps);
        }

        return NULL;
    }

    return rule;
}


static persona_rule_node_t *
persona_rule_binary(persona_rule_parser_t *ps, int type,
    persona_rule_node_t *a, persona_rule_node_t *b)
{
    persona_rule_node_t  *n;

    n = persona_rule_alloc(ps, sizeof(persona_rule_node_t));
    if (n == NULL) {
        return NULL;
    }

    n->type = type;
    n->a = a;
    n->b = b;

    return n;
}


static persona_rule_node_t *
persona_rule_or(persona_rule_parser_t *ps)
{
    persona_rule_node_t  *n, *b;

    n = persona_rule_and(ps);

    while (n != NULL && persona_rule_keyword(ps, "or")) {
        persona_rule_next(ps);

        b = persona_rule_and(ps);
        if (b == NULL) {
            return NULL;
        }

        n = persona_rule_binary(ps, PERSONA_RULE_OR, n, b);
    }

    return n;
}


static persona_rule_node_t *
persona_rule_and(persona_rule_parser_t *ps)
{
    persona_rule_node_t  *n, *b;

    n = persona_rule_not(ps);

    while (n != NULL && persona_rule_keyword(ps, "and")) {
        persona_rule_next(ps);

        b = persona_rule_not(ps);
        if (b == NULL) {
            return NULL;
        }

        n = persona_rule_binary(ps, PERSONA_RULE_AND, n, b);
    }

    return n;
}


static persona_rule_node_t *
persona_rule_not(persona_rule_parser_t *ps)
{
    persona_rule_node_t  *n;

    if (!persona_rule_keyword(ps, "not")) {
        return persona_rule_primary(ps);
    }

    if (++ps->depth > PERSONA_RULE_MAX_DEPTH) {
        persona_rule_error(ps, ps->ts, "nested deeper than 32%.*s", "", 0);
        return NULL;
    }

    persona_rule_next(ps);

    n = persona_rule_not(ps);
    if (n == NULL) {
        return NULL;
    }

    ps->depth--;

    return persona_rule_binary(ps, PERSONA_RULE_NOT, n, NULL);
}


/* the right side of ~: a quoted string, or a run of non-blanks with
 * balanced parentheses */

static int
persona_rule_regex(persona_rule_parser_t *ps, persona_rule_node_t *n,
    int caseless)
{
    int                    level;
    char                   msg[160];
    const unsigned char   *p, *start, *re;
    size_t                 len;

    p = ps->p;

    while (p < ps->end && persona_rule_space(*p)) {
        p++;
    }

    start = p;

    if (p < ps->end && (*p == '\'' || *p == '"')) {
        ps->p = p;
        persona_rule_next(ps);

        if (ps->tok != PERSONA_TOK_STRING) {
            return -1;
        }

        re = ps->sval;
        len = ps->slen;

    } else {
        level = 0;

        while (p < ps->end && !persona_rule_space(*p)) {
            if (*p == '\\' && p + 1 < ps->end) {
                p += 2;
                continue;
            }

            if (*p == '(') {
                level++;

            } else if (*p == ')') {
                if (level == 0) {
                    break;
                }

                level--;
            }

            p++;
        }

        if (p == start) {
            ps->p = p;
            persona_rule_next(ps);
            persona_rule_error(ps, start, "missing regular expression%.*s",
                               "", 0);
            return -1;
        }

        re = start;
        len = p - start;
        ps->p = p;
    }

    msg[0] = '\0';

    n->re = ps->env->regex(ps->env->ctx, re, len, caseless, msg,
                           sizeof(msg));

    if (n->re == NULL) {
        if (ps->err[0] == '\0') {
            snprintf(ps->err, ps->errlen,
                     "invalid regex \"%.*s\" at position %d: %s",
                     (int) (len > 60 ? 60 : len), (const char *) re,
                     persona_rule_pos(ps, start), msg);
        }

        return -1;
    }

    persona_rule_next(ps);

    return 0;
}


static int
persona_rule_list(persona_rule_parser_t *ps, persona_rule_node_t *n)
{
    size_t               cap;
    persona_operand_t   *items, *nitems;

    if (ps->tok != PERSONA_TOK_LPAREN) {
        if (ps->tok != PERSONA_TOK_ERROR) {
            persona_rule_error(ps, ps->ts, "missing \"(\" after \"in\"%.*s",
                               "", 0);
        }

        return -1;
    }

    persona_rule_next(ps);

    cap = 8;
    items = persona_rule_alloc(ps, cap * sizeof(persona_operand_t));
    if (items == NULL) {
        return -1;
    }

    n->nitems = 0;

    while (ps->tok != PERSONA_TOK_RPAREN) {

        if (ps->tok == PERSONA_TOK_COMMA) {
            persona_rule_next(ps);
            continue;
        }

        if (ps->tok == PERSONA_TOK_END) {
            persona_rule_error(ps, ps->ts, "missing \")\"%.*s", "", 0);
            return -1;
        }

        if (n->nitems == PERSONA_RULE_MAX_ITEMS) {
            persona_rule_error(ps, ps->ts, "more than 256 items%.*s", "", 0);
            return -1;
        }

        if (n->nitems == cap) {
            nitems = persona_rule_alloc(ps, 2 * cap
                                            * sizeof(persona_operand_t));
            if (nitems == NULL) {
                return -1;
            }

            memcpy(nitems, items, cap * sizeof(persona_operand_t));
            items = nitems;
            cap *= 2;
        }

        if (persona_rule_operand(ps, &items[n->nitems]) != 0) {
            return -1;
        }

        n->nitems++;
    }

    n->items = items;

    persona_rule_next(ps);

    return 0;
}


static persona_rule_node_t *
persona_rule_primary(persona_rule_parser_t *ps)
{
    int                    id;
    const unsigned char   *at;
    persona_rule_node_t   *n;

    if (ps->tok == PERSONA_TOK_ERROR) {
        return NULL;
    }

    if (ps->tok == PERSONA_TOK_LPAREN) {
        at = ps->ts;

        if (++ps->depth > PERSONA_RULE_MAX_DEPTH) {
            persona_rule_error(ps, at, "nested deeper than 32%.*s", "", 0);
            return NULL;
        }

        persona_rule_next(ps);

        n = persona_rule_or(ps);
        if (n == NULL) {
            return NULL;
        }

        if (ps->tok != PERSONA_TOK_RPAREN) {
            if (ps->tok == PERSONA_TOK_END) {
                persona_rule_error(ps, ps->ts, "missing \")\"%.*s", "", 0);

            } else {
                persona_rule_unexpected(ps);
            }

            return NULL;
        }

        ps->depth--;
        persona_rule_next(ps);

        return n;
    }

    n = persona_rule_alloc(ps, sizeof(persona_rule_node_t));
    if (n == NULL) {
        return NULL;
    }

    if (persona_rule_keyword(ps, "segment") && ps->p < ps->end
        && *ps->p == '(')
    {
        at = ps->ts;
        persona_rule_next(ps);
        persona_rule_next(ps);

        if (ps->tok != PERSONA_TOK_WORD && ps->tok != PERSONA_TOK_STRING) {
            if (ps->tok != PERSONA_TOK_ERROR) {
                persona_rule_unexpected(ps);
            }

            return NULL;
        }

        id = ps->env->segment(ps->env->ctx, ps->sval, ps->slen);

        if (id < 0) {
            persona_rule_error(ps, ps->ts, "unknown segment \"%.*s\"",
                               (const char *) ps->sval, ps->slen);
            return NULL;
        }

        persona_rule_next(ps);

        if (ps->tok != PERSONA_TOK_RPAREN) {
            persona_rule_error(ps, ps->ts, "missing \")\"%.*s", "", 0);
            return NULL;
        }

        persona_rule_next(ps);

        n->type = PERSONA_RULE_SEGMENT;
        n->seg = id;

        (void) at;

        return n;
    }

    if (ps->tok != PERSONA_TOK_WORD && ps->tok != PERSONA_TOK_STRING
        && ps->tok != PERSONA_TOK_VAR)
    {
        persona_rule_unexpected(ps);
        return NULL;
    }

    if (ps->tok == PERSONA_TOK_WORD
        && (persona_rule_keyword(ps, "and") || persona_rule_keyword(ps, "or")
            || persona_rule_keyword(ps, "in")))
    {
        persona_rule_unexpected(ps);
        return NULL;
    }

    if (persona_rule_operand(ps, &n->l) != 0) {
        return NULL;
    }

    if (ps->tok == PERSONA_TOK_OP) {
        at = ps->ts;

        if (ps->ts[0] == '~' || (ps->ts[0] == '!' && ps->tlen > 1
                                 && ps->ts[1] == '~'))
        {
            n->type = PERSONA_RULE_REGEX;
            n->op = (ps->ts[0] == '!');

            if (persona_rule_regex(ps, n, ps->ts[ps->tlen - 1] == '*') != 0)
            {
                return NULL;
            }

            return n;
        }

        n->type = PERSONA_RULE_CMP;

        if (ps->tlen == 1 && ps->ts[0] == '=') {
            n->op = PERSONA_RULE_EQ;

        } else if (ps->tlen == 2 && ps->ts[0] == '!' && ps->ts[1] == '=') {
            n->op = PERSONA_RULE_NE;

        } else if (ps->ts[0] == '<') {
            n->op = ps->tlen == 2 ? PERSONA_RULE_LE : PERSONA_RULE_LT;

        } else if (ps->ts[0] == '>') {
            n->op = ps->tlen == 2 ? PERSONA_RULE_GE : PERSONA_RULE_GT;

        } else {
            persona_rule_unexpected(ps);
            return NULL;
        }

        persona_rule_next(ps);

        if (ps->tok != PERSONA_TOK_WORD && ps->tok != PERSONA_TOK_STRING
            && ps->tok != PERSONA_TOK_VAR)
        {
            if (ps->tok != PERSONA_TOK_ERROR) {
                if (ps->tok == PERSONA_TOK_END) {
                    persona_rule_error(ps, at, "missing value after "
                                       "\"%.*s\"", (const char *) at,
                                       ps->tlen ? ps->tlen : 1);
                } else {
                    persona_rule_unexpected(ps);
                }
            }

            return NULL;
        }

        if (persona_rule_operand(ps, &n->r) != 0) {
            return NULL;
        }

        return n;
    }

    if (persona_rule_keyword(ps, "in")) {
        n->type = PERSONA_RULE_IN;
        persona_rule_next(ps);
        return persona_rule_list(ps, n) == 0 ? n : NULL;
    }

    if (persona_rule_keyword(ps, "not")) {
        at = ps->ts;
        persona_rule_next(ps);

        if (!persona_rule_keyword(ps, "in")) {
            persona_rule_error(ps, at, "unexpected \"not\"%.*s", "", 0);
            return NULL;
        }

        n->type = PERSONA_RULE_IN;
        n->neg = 1;
        persona_rule_next(ps);
        return persona_rule_list(ps, n) == 0 ? n : NULL;
    }

    n->type = PERSONA_RULE_TRUTHY;

    return n;
}


static int
persona_rule_operand(persona_rule_parser_t *ps, persona_operand_t *o)
{
    int  id;

    switch (ps->tok) {

    case PERSONA_TOK_VAR:
        id = ps->env->variable(ps->env->ctx, ps->sval, ps->slen);

        if (id < 0) {
            persona_rule_error(ps, ps->ts, "unknown variable \"$%.*s\"",
                               (const char *) ps->sval, ps->slen);
            return -1;
        }

        o->var = id;
        break;

    case PERSONA_TOK_WORD:
    case PERSONA_TOK_STRING:
        o->var = -1;
        o->s = ps->sval;
        o->len = ps->slen;
        o->isnum = persona_rule_number(o->s, o->len, &o->num);
        break;

    default:
        if (ps->tok != PERSONA_TOK_ERROR) {
            persona_rule_unexpected(ps);
        }

        return -1;
    }

    persona_rule_next(ps);

    return 0;
}


/* [+-]digits[.digits] */

static int
persona_rule_number(const unsigned char *p, size_t len, double *v)
{
    int                    digits;
    double                 n, scale;
    const unsigned char   *end;
    int                    neg;

    end = p + len;
    neg = 0;

    if (p < end && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
    }

    n = 0;
    digits = 0;

    while (p < end && *p >= '0' && *p <= '9') {
        n = n * 10 + (*p++ - '0');
        digits++;
    }

    if (digits == 0) {
        return 0;
    }

    if (p < end && *p == '.') {
        p++;
        scale = 0.1;
        digits = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            n += (*p++ - '0') * scale;
            scale /= 10;
            digits++;
        }

        if (digits == 0) {
            return 0;
        }
    }

    if (p != end) {
        return 0;
    }

    *v = neg ? -n : n;

    return 1;
}


static int
persona_rule_value(const persona_operand_t *o, const persona_rule_rt_t *rt,
    const unsigned char **p, size_t *len)
{
    if (o->var < 0) {
        *p = o->s;
        *len = o->len;
        return 0;
    }

    *p = (const unsigned char *) "";
    *len = 0;

    return rt->variable(rt->ctx, o->var, p, len);
}


static int
persona_rule_equal(const persona_operand_t *a, const unsigned char *ap,
    size_t alen, const persona_operand_t *b, const unsigned char *bp,
    size_t blen)
{
    double  x, y;

    if ((a->var < 0 ? a->isnum : persona_rule_number(ap, alen, &x))
        && (b->var < 0 ? b->isnum : persona_rule_number(bp, blen, &y)))
    {
        if (a->var < 0) {
            x = a->num;
        }

        if (b->var < 0) {
            y = b->num;
        }

        return x == y;
    }

    return alen == blen && memcmp(ap, bp, alen) == 0;
}


static int
persona_rule_compare(const persona_rule_node_t *n, const unsigned char *ap,
    size_t alen, const unsigned char *bp, size_t blen)
{
    int     c;
    double  x, y;

    if ((n->l.var < 0 ? n->l.isnum : persona_rule_number(ap, alen, &x))
        && (n->r.var < 0 ? n->r.isnum : persona_rule_number(bp, blen, &y)))
    {
        if (n->l.var < 0) {
            x = n->l.num;
        }

        if (n->r.var < 0) {
            y = n->r.num;
        }

        c = (x > y) - (x < y);

    } else {
        c = memcmp(ap, bp, alen < blen ? alen : blen);

        if (c == 0) {
            c = (alen > blen) - (alen < blen);
        }
    }

    switch (n->op) {
    case PERSONA_RULE_EQ: return c == 0;
    case PERSONA_RULE_NE: return c != 0;
    case PERSONA_RULE_LT: return c < 0;
    case PERSONA_RULE_LE: return c <= 0;
    case PERSONA_RULE_GT: return c > 0;
    default: return c >= 0;
    }
}


int
persona_rule_eval(const persona_rule_t *rule, const persona_rule_rt_t *rt)
{
    return persona_rule_eval_node(rule->root, rt);
}


static int
persona_rule_eval_node(const persona_rule_node_t *n,
    const persona_rule_rt_t *rt)
{
    int                    rc;
    size_t                 i, alen, blen;
    const unsigned char   *ap, *bp;

    switch (n->type) {

    case PERSONA_RULE_OR:
        rc = persona_rule_eval_node(n->a, rt);
        return rc != 0 ? rc : persona_rule_eval_node(n->b, rt);

    case PERSONA_RULE_AND:
        rc = persona_rule_eval_node(n->a, rt);
        return rc != 1 ? rc : persona_rule_eval_node(n->b, rt);

    case PERSONA_RULE_NOT:
        rc = persona_rule_eval_node(n->a, rt);
        return rc < 0 ? rc : !rc;

    case PERSONA_RULE_SEGMENT:
        return rt->segment(rt->ctx, n->seg);

    default:
        break;
    }

    if (persona_rule_value(&n->l, rt, &ap, &alen) != 0) {
        return -1;
    }

    switch (n->type) {

    case PERSONA_RULE_TRUTHY:
        return !(alen == 0 || (alen == 1 && ap[0] == '0'));

    case PERSONA_RULE_REGEX:
        rc = rt->regex(rt->ctx, n->re, ap, alen);
        return rc < 0 ? rc : (n->op ? !rc : rc);

    case PERSONA_RULE_IN:
        for (i = 0; i < n->nitems; i++) {
            if (persona_rule_value(&n->items[i], rt, &bp, &blen) != 0) {
                return -1;
            }

            if (persona_rule_equal(&n->l, ap, alen, &n->items[i], bp, blen))
            {
                return !n->neg;
            }
        }

        return n->neg;

    default: /* PERSONA_RULE_CMP */

        if (persona_rule_value(&n->r, rt, &bp, &blen) != 0) {
            return -1;
        }

        return persona_rule_compare(n, ap, alen, bp, blen);
    }
}


static void
persona_rule_walk(const persona_rule_node_t *n, void (*f)(void *ctx, int id),
    void *ctx)
{
    if (n == NULL) {
        return;
    }

    if (n->type == PERSONA_RULE_SEGMENT) {
        f(ctx, n->seg);
        return;
    }

    if (n->type == PERSONA_RULE_OR || n->type == PERSONA_RULE_AND
        || n->type == PERSONA_RULE_NOT)
    {
        persona_rule_walk(n->a, f, ctx);
        persona_rule_walk(n->b, f, ctx);
    }
}


void
persona_rule_segments(const persona_rule_t *rule,
    void (*f)(void *ctx, int id), void *ctx)
{
    persona_rule_walk(rule->root, f, ctx);
}
