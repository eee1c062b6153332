/*
 * The condition language: operators, precedence, numbers and strings,
 * lists, regular expressions, short-circuit evaluation, errors with
 * positions and limits.
 */

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

#include "persona_rule.h"


/* variables: $a.. with values from the table; segments: s0..s9 */

static const char  *names[] = { "a", "b", "num", "empty", "zero", "ua",
                                "country", NULL };
static const char  *values[] = { "alpha", "beta", "42", "", "0",
                                 "Mozilla iPhone", "FR", NULL };
static int          var_reads, seg_reads;
static int          seg_value[10];
static void        *allocs[1024];
static int          nallocs;
static regex_t     *regexes[256];
static int          nregexes;


static void *
t_alloc(void *ctx, size_t size)
{
    return allocs[nallocs++] = malloc(size);
}


static int
t_variable(void *ctx, const unsigned char *name, size_t len)
{
    int  i;

    for (i = 0; names[i]; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
            return i;
        }
    }

    return -1;
}


static int
t_segment(void *ctx, const unsigned char *name, size_t len)
{
    if (len == 2 && name[0] == 's' && name[1] >= '0' && name[1] <= '9') {
        return name[1] - '0';
    }

    return -1;
}


static void *
t_regex(void *ctx, const unsigned char *re, size_t len, int caseless,
    char *err, size_t errlen)
{
    char     buf[256];
    regex_t *r;

    snprintf(buf, sizeof(buf), "%.*s", (int) len, re);
    r = t_alloc(NULL, sizeof(regex_t));

    if (regcomp(r, buf, REG_EXTENDED | REG_NOSUB
                        | (caseless ? REG_ICASE : 0)) != 0)
    {
        snprintf(err, errlen, "bad pattern");
        return NULL;
    }

    regexes[nregexes++] = r;

    return r;
}


static int
t_get(void *ctx, int id, const unsigned char **p, size_t *len)
{
    var_reads++;
    *p = (const unsigned char *) values[id];
    *len = strlen(values[id]);
    return 0;
}


static int
t_seg(void *ctx, int id)
{
    seg_reads++;
    return seg_value[id];
}


static int
t_match(void *ctx, void *re, const unsigned char *s, size_t len)
{
    char  buf[256];

    snprintf(buf, sizeof(buf), "%.*s", (int) len, s);
    return regexec(re, buf, 0, NULL, 0) == 0;
}


static const persona_rule_env_t  env = {
    t_alloc, t_variable, t_segment, t_regex, NULL
};

static const persona_rule_rt_t  rt = { t_get, t_seg, t_match, NULL };


static int
ev(const char *src)
{
    char             err[256];
    persona_rule_t  *r;

    r = persona_rule_compile((const unsigned char *) src, strlen(src), &env,
                             err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s: %s", src, err);
    }

    return persona_rule_eval(r, &rt);
}


static void
bad(const char *src, const char *want)
{
    char             err[256];
    persona_rule_t  *r;

    r = persona_rule_compile((const unsigned char *) src, strlen(src), &env,
                             err, sizeof(err));
    assert_null(r);
    assert_string_equal(err, want);
}


static void
test_comparisons(void **state)
{
    assert_int_equal(ev("$a = alpha"), 1);
    assert_int_equal(ev("$a = 'alpha'"), 1);
    assert_int_equal(ev("$a != alpha"), 0);
    assert_int_equal(ev("$a = ${a}"), 1);
    assert_int_equal(ev("$num = 42"), 1);
    assert_int_equal(ev("$num = 42.0"), 1);
    assert_int_equal(ev("$num > 9"), 1);            /* numeric */
    assert_int_equal(ev("$num >= 42"), 1);
    assert_int_equal(ev("$num < 100"), 1);
    assert_int_equal(ev("$num <= 41.5"), 0);
    assert_int_equal(ev("$a < beta"), 1);           /* byte-wise */
    assert_int_equal(ev("$a > alp"), 1);
    assert_int_equal(ev("'10' < '9'"), 0);          /* both numbers */
    assert_int_equal(ev("'10' < '9x'"), 1);         /* strings */
    assert_int_equal(ev("-1 < 0"), 1);
    assert_int_equal(ev("$empty = ''"), 1);
}


static void
test_truthy(void **state)
{
    assert_int_equal(ev("$a"), 1);
    assert_int_equal(ev("$empty"), 0);
    assert_int_equal(ev("$zero"), 0);
    assert_int_equal(ev("not $zero"), 1);
    assert_int_equal(ev("'0'"), 0);
    assert_int_equal(ev("00"), 1);
}


static void
test_boolean(void **state)
{
    seg_value[1] = 1;
    seg_value[2] = 0;

    assert_int_equal(ev("segment(s1)"), 1);
    assert_int_equal(ev("segment(s2)"), 0);
    assert_int_equal(ev("not segment(s2)"), 1);
    assert_int_equal(ev("segment(s1) and segment(s2)"), 0);
    assert_int_equal(ev("segment(s1) or segment(s2)"), 1);

    /* and before or; not before and */
    assert_int_equal(ev("segment(s2) and segment(s2) or segment(s1)"), 1);
    assert_int_equal(ev("segment(s2) and (segment(s2) or segment(s1))"), 0);
    assert_int_equal(ev("not segment(s1) or segment(s1)"), 1);
    assert_int_equal(ev("not (segment(s1) or segment(s1))"), 0);
    assert_int_equal(ev("not $a = beta"), 1);
    assert_int_equal(ev("not not segment(s1)"), 1);
    assert_int_equal(ev("$country in (FR BE CH) and not segment(s2)"), 1);
}


static void
test_lists(void **state)
{
    assert_int_equal(ev("$country in (FR BE CH)"), 1);
    assert_int_equal(ev("$country in (DE, AT)"), 0);
    assert_int_equal(ev("$country not in (DE, AT)"), 1);
    assert_int_equal(ev("$country in ('FR')"), 1);
    assert_int_equal(ev("$num in (1 42.00 3)"), 1);
    assert_int_equal(ev("$a in ($b $a)"), 1);
    assert_int_equal(ev("$a in ()"), 0);
}


static void
test_regex(void **state)
{
    assert_int_equal(ev("$ua ~ iPhone"), 1);
    assert_int_equal(ev("$ua ~ iphone"), 0);
    assert_int_equal(ev("$ua ~* iphone"), 1);
    assert_int_equal(ev("$ua !~ Android"), 1);
    assert_int_equal(ev("$ua !~* IPHONE"), 0);
    assert_int_equal(ev("$a ~ ^(alpha|gamma)$"), 1);
    assert_int_equal(ev("($a ~ ^(alpha|gamma)$)"), 1);
    assert_int_equal(ev("$ua ~ 'Mozilla iPhone'"), 1);
    assert_int_equal(ev("$a ~ ^a and $b ~ ^b"), 1);
}


static void
test_quoting(void **state)
{
    assert_int_equal(ev("'it\\'s' = \"it's\""), 1);
    assert_int_equal(ev("'a\\\\b' = 'a\\\\b'"), 1);
    assert_int_equal(ev("'and' = 'and'"), 1);
}


static void
test_short_circuit(void **state)
{
    seg_value[1] = 1;
    seg_value[2] = 0;

    seg_reads = 0;
    assert_int_equal(ev("segment(s2) and segment(s1)"), 0);
    assert_int_equal(seg_reads, 1);

    seg_reads = 0;
    assert_int_equal(ev("segment(s1) or segment(s2)"), 1);
    assert_int_equal(seg_reads, 1);

    var_reads = 0;
    assert_int_equal(ev("segment(s1) or $a = x"), 1);
    assert_int_equal(var_reads, 0);
}


static void
test_errors(void **state)
{
    char  big[5000];
    char  deep[200];
    int   i;

    bad("", "empty condition");
    bad("   ", "empty condition");
    bad("$a = ", "missing value after \"=\" at position 4");
    bad("$a and", "unexpected end at position 7");
    bad("and $a", "unexpected \"and\" at position 1");
    bad("($a", "missing \")\" at position 4");
    bad("$a)", "unexpected \")\" at position 3");
    bad("$nope = 1", "unknown variable \"$nope\" at position 1");
    bad("segment(vip)", "unknown segment \"vip\" at position 9");
    bad("$a ~ (", "invalid regex \"(\" at position 6: bad pattern");
    bad("'abc", "unterminated string at position 1");
    bad("$a in x", "missing \"(\" after \"in\" at position 7");
    bad("$a in (x", "missing \")\" at position 9");
    bad("$a not x", "unexpected \"not\" at position 4");
    bad("$ = 1", "invalid variable at position 1");
    bad("$a = = b", "unexpected \"=\" at position 6");

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    bad(big, "condition longer than 4096 bytes");

    for (i = 0; i < 40; i++) {
        deep[i] = '(';
    }

    strcpy(deep + 40, "$a");
    bad(deep, "nested deeper than 32 at position 33");

    assert_int_equal(ev("((((((((((((((((((((((((((((((($a)))))))))))))))))))))))))))))))"), 1);
}


static void
collect(void *ctx, int id)
{
    *(int *) ctx |= 1 << id;
}


static void
test_segments_list(void **state)
{
    int              mask;
    char             err[256];
    persona_rule_t  *r;
    const char      *src = "segment(s3) or not (segment(s5) and $a)";

    r = persona_rule_compile((const unsigned char *) src, strlen(src), &env,
                             err, sizeof(err));
    assert_non_null(r);

    mask = 0;
    persona_rule_segments(r, collect, &mask);
    assert_int_equal(mask, (1 << 3) | (1 << 5));
}


static int
teardown(void **state)
{
    while (nregexes) {
        regfree(regexes[--nregexes]);
    }

    while (nallocs) {
        free(allocs[--nallocs]);
    }

    return 0;
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_teardown(test_comparisons, teardown),
        cmocka_unit_test_teardown(test_truthy, teardown),
        cmocka_unit_test_teardown(test_boolean, teardown),
        cmocka_unit_test_teardown(test_lists, teardown),
        cmocka_unit_test_teardown(test_regex, teardown),
        cmocka_unit_test_teardown(test_quoting, teardown),
        cmocka_unit_test_teardown(test_short_circuit, teardown),
        cmocka_unit_test_teardown(test_errors, teardown),
        cmocka_unit_test_teardown(test_segments_list, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
