/*
 * The contents of signed values: ids with their expiry, the cookie of an
 * id that replaced another, preview payloads and sticky entries.  Every
 * parser takes exactly its grammar and refuses the rest.
 */

#include "unit.h"

#include <stdio.h>

#include "persona_token.h"


#define U(s)  ((const unsigned char *) (s))


static void
test_id(void **state)
{
    size_t                n;
    int64_t               exp;
    unsigned char         big[300];
    const unsigned char  *id;

    assert_int_equal(persona_token_id(U("alice.0"), 7, &id, &n, &exp), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(id, "alice", 5);
    assert_int_equal(exp, 0);

    /* the last "." separates: ids may hold dots */

    assert_int_equal(persona_token_id(U("a.b.c.1767225600"), 16, &id, &n,
                                      &exp), 0);
    assert_int_equal(n, 5);
    assert_int_equal(exp, 1767225600);

    assert_int_equal(persona_token_id(U("alice"), 5, &id, &n, &exp), -1);
    assert_int_equal(persona_token_id(U(".0"), 2, &id, &n, &exp), -1);
    assert_int_equal(persona_token_id(U("alice."), 6, &id, &n, &exp), -1);
    assert_int_equal(persona_token_id(U("alice.01"), 8, &id, &n, &exp), -1);
    assert_int_equal(persona_token_id(U("alice.-1"), 8, &id, &n, &exp), -1);
    assert_int_equal(persona_token_id(U("alice.1e9"), 9, &id, &n, &exp), -1);
    assert_int_equal(persona_token_id(U("a.1234567890123"), 15, &id, &n,
                                      &exp), -1);
    assert_int_equal(persona_token_id(U(""), 0, &id, &n, &exp), -1);

    memset(big, 'x', sizeof(big));
    memcpy(big + 256, ".0", 2);
    assert_int_equal(persona_token_id(big, 258, &id, &n, &exp), 0);
    memcpy(big + 257, ".0", 2);
    assert_int_equal(persona_token_id(big, 259, &id, &n, &exp), -1);
}


static void
test_cookie(void **state)
{
    size_t          idlen, plen;
    int64_t         since;
    unsigned char   buf[800], id[PERSONA_TOKEN_ID_MAX],
                    prev[PERSONA_TOKEN_ID_MAX], big[PERSONA_TOKEN_ID_MAX + 1],
                    *end;

    end = persona_token_cookie_write(buf, U("alice"), 5,
                                     U("0123456789abcdef0123456789abcdef"),
                                     32, 1767225600);
    assert_true((size_t) (end - buf) <= persona_token_cookie_len(5, 32));
    assert_memory_equal(buf, "YWxpY2U.", 8);

    assert_int_equal(persona_token_cookie(buf, end - buf, id, &idlen, prev,
                                          &plen, &since), 0);
    assert_int_equal(idlen, 5);
    assert_memory_equal(id, "alice", 5);
    assert_int_equal(plen, 32);
    assert_int_equal(since, 1767225600);

    /* no previous id */

    end = persona_token_cookie_write(buf, U("bob"), 3, NULL, 0, 0);
    *end = '\0';
    assert_string_equal((char *) buf, "Ym9i..0");
    assert_int_equal(persona_token_cookie(buf, end - buf, id, &idlen, prev,
                                          &plen, &since), 0);
    assert_int_equal(plen, 0);

    /* the longest id, and one byte more */

    memset(big, 'z', sizeof(big));
    end = persona_token_cookie_write(buf, big, PERSONA_TOKEN_ID_MAX, big,
                                     PERSONA_TOKEN_ID_MAX, 999999999999LL);
    assert_int_equal(end - buf,
                     persona_token_cookie_len(PERSONA_TOKEN_ID_MAX,
                                              PERSONA_TOKEN_ID_MAX));
    assert_int_equal(persona_token_cookie(buf, end - buf, id, &idlen, prev,
                                          &plen, &since), 0);

    end = persona_token_cookie_write(buf, big, sizeof(big), NULL, 0, 1);
    assert_int_equal(persona_token_cookie(buf, end - buf, id, &idlen, prev,
                                          &plen, &since), -1);

    assert_int_equal(persona_token_cookie(U("..0"), 3, id, &idlen, prev,
                                          &plen, &since), -1);
    assert_int_equal(persona_token_cookie(U("YQ.0"), 4, id, &idlen, prev,
                                          &plen, &since), -1);
    assert_int_equal(persona_token_cookie(U("YQ..x"), 5, id, &idlen, prev,
                                          &plen, &since), -1);
    assert_int_equal(persona_token_cookie(U("YQ==..1"), 7, id, &idlen, prev,
                                          &plen, &since), -1);
    assert_int_equal(persona_token_cookie(U("YQ.Y.1"), 6, id, &idlen, prev,
                                          &plen, &since), -1);
    assert_int_equal(persona_token_cookie(U("YQ...1"), 6, id, &idlen, prev,
                                          &plen, &since), -1);
}


static int
preview(const char *s, persona_preview_t *pv)
{
    return persona_preview_parse(U(s), strlen(s), pv);
}


static void
test_preview(void **state)
{
    char               big[PERSONA_PREVIEW_MAX + 64];
    size_t             i, n;
    persona_preview_t  pv;

    assert_int_equal(preview("host=shop.example.com&expires=1767225600"
                             "&time=2026-12-24T10:00Z&set=hero:winter"
                             "&set=greeting:2&set=checkout:-", &pv), 0);
    assert_int_equal(pv.host_len, 16);
    assert_memory_equal(pv.host, "shop.example.com", 16);
    assert_int_equal(pv.expires, 1767225600);
    assert_int_equal(pv.time, 1798106400);
    assert_int_equal(pv.nsets, 3);
    assert_memory_equal(pv.set[0].name, "hero", 4);
    assert_int_equal(pv.set[0].value_len, 6);
    assert_memory_equal(pv.set[1].value, "2", 1);
    assert_memory_equal(pv.set[2].value, "-", 1);

    assert_int_equal(preview("expires=1&host=localhost", &pv), 0);
    assert_int_equal(pv.time, -1);
    assert_int_equal(pv.nsets, 0);

    /* required, once, known keys, no empty pair, names as configured */

    assert_int_equal(preview("host=localhost", &pv), -1);
    assert_int_equal(preview("expires=1", &pv), -1);
    assert_int_equal(preview("host=a&host=b&expires=1", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&expires=2", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&", &pv), -1);
    assert_int_equal(preview("host=a&&expires=1", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&who=me", &pv), -1);
    assert_int_equal(preview("host=A&expires=1", &pv), -1);
    assert_int_equal(preview("host=a b&expires=1", &pv), -1);
    assert_int_equal(preview("host=&expires=1", &pv), -1);
    assert_int_equal(preview("host=a&expires=x", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&time=tomorrow", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&set=hero", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&set=:b", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&set=a:", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&set=a-b:c", &pv), 0);
    assert_int_equal(preview("host=a&expires=1&set=a.b:c", &pv), -1);
    assert_int_equal(preview("host=a&expires=1&set=a:<b>", &pv), -1);
    assert_int_equal(preview("host", &pv), -1);
    assert_int_equal(preview("", &pv), -1);

    /* at most PERSONA_PREVIEW_SETS sets, PERSONA_PREVIEW_MAX bytes */

    n = (size_t) sprintf(big, "host=a&expires=1");

    for (i = 0; i < PERSONA_PREVIEW_SETS; i++) {
        n += sprintf(big + n, "&set=e%zu:v", i % 10);
    }

    assert_int_equal(persona_preview_parse(U(big), n, &pv), 0);
    assert_int_equal(pv.nsets, PERSONA_PREVIEW_SETS);

    n += sprintf(big + n, "&set=e:v");
    assert_int_equal(persona_preview_parse(U(big), n, &pv), -1);

    memset(big, 'a', sizeof(big));
    memcpy(big, "expires=1&host=", 15);
    assert_int_equal(persona_preview_parse(U(big), PERSONA_PREVIEW_MAX + 1,
                                           &pv), -1);
}


static int
sticky(const char *s, const char *want)
{
    int                     rc;
    char                    out[256];
    size_t                  len;
    persona_sticky_entry_t  e;
    const unsigned char    *p, *last;

    p = U(s);
    last = p + strlen(s);
    len = 0;

    while ((rc = persona_sticky_next(&p, last, &e)) == 1) {
        len += sprintf(out + len, "%.*s/%lu/%.*s;",
                       (int) e.experiment_len, e.experiment, e.version,
                       (int) e.variant_len, e.variant);
    }

    out[len] = '\0';

    if (rc == 0) {
        assert_string_equal(out, want);
    }

    return rc;
}


static void
test_sticky(void **state)
{
    assert_int_equal(sticky("", ""), 0);
    assert_int_equal(sticky("hero:0:winter", "hero/0/winter;"), 0);
    assert_int_equal(sticky("hero:2:winter|checkout:999999:v1.2-b",
                            "hero/2/winter;checkout/999999/v1.2-b;"), 0);

    assert_int_equal(sticky("hero:0:winter|", NULL), -1);
    assert_int_equal(sticky("|hero:0:winter", NULL), -1);
    assert_int_equal(sticky("hero:winter", NULL), -1);
    assert_int_equal(sticky("hero::winter", NULL), -1);
    assert_int_equal(sticky("hero:01:winter", NULL), -1);
    assert_int_equal(sticky("hero:1000000:winter", NULL), -1);
    assert_int_equal(sticky("hero:1:", NULL), -1);
    assert_int_equal(sticky(":1:a", NULL), -1);
    assert_int_equal(sticky("he-ro:1:a", NULL), -1);
    assert_int_equal(sticky("hero:1:a:b", NULL), -1);
    assert_int_equal(sticky("hero:1:a b", NULL), -1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_id),
        cmocka_unit_test(test_cookie),
        cmocka_unit_test(test_preview),
        cmocka_unit_test(test_sticky),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
