/*
 * Comma lists and names: the walker skips empty items, membership is byte
 * for byte, a merge appends only what is missing and stays within the
 * room its header promises.
 */

#include "unit.h"

#include <stdlib.h>

#include "persona_list.h"


#define U(s)  ((const unsigned char *) (s))


static void
walk(const char *list, const char *want)
{
    char                  out[256];
    size_t                n, len;
    const unsigned char  *p, *last, *item;

    p = U(list);
    last = p + strlen(list);
    len = 0;

    while (persona_list_next(&p, last, &item, &n)) {
        memcpy(out + len, item, n);
        len += n;
        out[len++] = '|';
    }

    out[len] = '\0';
    assert_string_equal(out, want);
    assert_ptr_equal(p, last);
}


static void
test_next(void **state)
{
    walk("", "");
    walk("a", "a|");
    walk("a,b", "a|b|");
    walk("vip,newsletter,churn-risk", "vip|newsletter|churn-risk|");
    walk(",a,,b,", "a|b|");
    walk(",,,", "");
    walk("a b,c", "a b|c|");
}


static void
test_has(void **state)
{
    assert_true(persona_list_has(U("a,bb,c"), 6, U("bb"), 2));
    assert_true(persona_list_has(U("a,bb,c"), 6, U("c"), 1));
    assert_false(persona_list_has(U("a,bb,c"), 6, U("b"), 1));
    assert_false(persona_list_has(U("a,bb,c"), 6, U("bb,"), 3));
    assert_false(persona_list_has(U(""), 0, U("a"), 1));
    assert_false(persona_list_has(NULL, 0, U("a"), 1));
    assert_false(persona_list_has(U("vip"), 3, U("VIP"), 3));
    assert_int_equal(persona_list_count(U(",a,,b"), 5), 2);
    assert_int_equal(persona_list_count(NULL, 0), 0);
}


static void
merge(const char *have, const char *add, const char *want)
{
    size_t          hlen, alen;
    unsigned char  *buf, *end;

    hlen = strlen(have);
    alen = strlen(add);

    /* exactly the room promised: what is there plus len + 1 */
    buf = malloc(hlen + alen + 1);
    assert_non_null(buf);

    memcpy(buf, have, hlen);
    end = persona_list_merge(buf, buf + hlen, U(add), alen);

    assert_int_equal(end - buf, strlen(want));
    assert_memory_equal(buf, want, strlen(want));

    free(buf);
}


static void
test_merge(void **state)
{
    merge("", "", "");
    merge("", "a,b", "a,b");
    merge("a", "b", "a,b");
    merge("a,b", "b,c,a,d", "a,b,c,d");
    merge("human", "human,vip", "human,vip");
    merge("x", ",,y,,", "x,y");
    merge("", ",y", "y");
}


static void
test_names(void **state)
{
    char  name[80];

    assert_true(persona_name_valid(U("hero"), 4, ""));
    assert_true(persona_name_valid(U("a_B9"), 4, ""));
    assert_false(persona_name_valid(U("a-b"), 3, ""));
    assert_true(persona_name_valid(U("a-b"), 3, "-"));
    assert_true(persona_name_valid(U("v1.2"), 4, "-."));
    assert_false(persona_name_valid(U(""), 0, "-"));
    assert_false(persona_name_valid(U("a b"), 3, "-"));
    assert_false(persona_name_valid(U("a\0b"), 3, "-"));
    assert_false(persona_name_valid(U("caf\xc3\xa9"), 5, "-"));

    memset(name, 'a', sizeof(name));
    assert_true(persona_name_valid(U(name), PERSONA_NAME_MAX, ""));
    assert_false(persona_name_valid(U(name), PERSONA_NAME_MAX + 1, ""));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_has),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
