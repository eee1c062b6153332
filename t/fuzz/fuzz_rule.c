/*
 * The condition compiler on arbitrary text: it accepts or refuses with a
 * message, never crashes; the same input compiles the same way twice; an
 * accepted condition evaluates to 0 or 1 for any variable values.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona_rule.h"


typedef struct {
    void    *blocks[4096];
    size_t   n;
} arena_t;

static const uint8_t  *vals;
static size_t          nvals;


static void *
f_alloc(void *ctx, size_t size)
{
    arena_t  *a = ctx;

    if (a->n == 4096) {
        return NULL;
    }

    return a->blocks[a->n++] = malloc(size);
}

static int
f_variable(void *ctx, const unsigned char *name, size_t len)
{
    return (int) (len % 7);
}

static int
f_segment(void *ctx, const unsigned char *name, size_t len)
{
    return (int) (len % 5);
}

static void *
f_regex(void *ctx, const unsigned char *re, size_t len, int caseless,
    char *err, size_t errlen)
{
    /* the pattern is kept as is: "matching" is a substring test */
    unsigned char  *p;

    p = f_alloc(ctx, len + 1 + sizeof(size_t));
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, &len, sizeof(size_t));
    memcpy(p + sizeof(size_t), re, len);

    return p;
}

static int
f_get(void *ctx, int id, const unsigned char **p, size_t *len)
{
    size_t  off;

    off = nvals ? (size_t) id * 3 % nvals : 0;
    *p = vals + off;
    *len = nvals ? (nvals - off) % 4 : 0;

    return 0;
}

static int
f_seg(void *ctx, int id)
{
    return id & 1;
}

static int
f_match(void *ctx, void *re, const unsigned char *s, size_t len)
{
    size_t  n;

    memcpy(&n, re, sizeof(size_t));

    return n <= len
           && memcmp(s, (unsigned char *) re + sizeof(size_t), n) == 0;
}


static void
arena_free(arena_t *a)
{
    while (a->n) {
        free(a->blocks[--a->n]);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  r1, r2;
    char                 e1[256], e2[256];
    arena_t              a1, a2;
    persona_rule_t      *c1, *c2;
    persona_rule_env_t   env;
    persona_rule_rt_t    rt;

    a1.n = 0;
    a2.n = 0;
    vals = data;
    nvals = size;

    env.alloc = f_alloc;
    env.variable = f_variable;
    env.segment = f_segment;
    env.regex = f_regex;

    env.ctx = &a1;
    c1 = persona_rule_compile(data, size, &env, e1, sizeof(e1));
    env.ctx = &a2;
    c2 = persona_rule_compile(data, size, &env, e2, sizeof(e2));

    if ((c1 == NULL) != (c2 == NULL)) {
        abort();
    }

    if (c1 == NULL) {
        if (e1[0] == '\0' || strcmp(e1, e2) != 0) {
            abort();
        }

    } else {
        rt.variable = f_get;
        rt.segment = f_seg;
        rt.regex = f_match;
        rt.ctx = NULL;

        r1 = persona_rule_eval(c1, &rt);
        r2 = persona_rule_eval(c2, &rt);

        if ((r1 != 0 && r1 != 1) || r1 != r2) {
            abort();
        }
    }

    arena_free(&a1);
    arena_free(&a2);

    return 0;
}
