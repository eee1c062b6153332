
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Hashing and bucketing: GrowthBook's vectors, UTF-16 units of non-ASCII
 * ids, streaming, percentages, bucket ranges, MurmurHash2 and the
 * split_clients boundaries.
 *
 * Values marked "node" were computed with node 20 running a copy of
 * GrowthBook's hashFnv32a(), hash() and getBucketRanges() (sdk-js
 * src/util.ts), with ids made from bytes by new TextDecoder().decode();
 * values marked "nginx" with a copy of ngx_murmur_hash2().
 */


#include "unit.h"

#include "persona_hash.h"


#define S(s)  (const unsigned char *) (s), (sizeof(s) - 1)


static void
test_growthbook_vectors(void **state)
{
    /* DESIGN.md; the SDK computes them as (h % 1000) / 1000 */
    assert_true(persona_hash_v1(S(""), S("a")) == 0.22);
    assert_true(persona_hash_v1(S("b"), S("a")) == 0.946);
    assert_true(persona_hash_v2(S("seed"), S("a")) == 0.0505);
    assert_true(persona_hash_v2(S("foo"), S("ab")) == 0.2575);
    assert_true(persona_hash_v2(S("89123klj"), S("8952klfjas09ujkasdf"))
                == 0.124);

    /* node: hash("hero", "user-42", 1 and 2), namespace "homepage" */
    assert_true(persona_hash_v1(S("hero"), S("user-42")) == 0.879);
    assert_true(persona_hash_v2(S("hero"), S("user-42")) == 0.4151);
    assert_true(persona_hash_layer(S("homepage"), S("user-42")) == 0.857);
    assert_int_equal(persona_fnv1a32(S("user-42__homepage")), 3565559857u);
    assert_int_equal(persona_fnv1a32(S("herouser-42")), 352303767u);
}


static void
test_fnv_reference(void **state)
{
    /* the published FNV-1a 32 test vectors */
    assert_int_equal(persona_fnv1a32(S("")), 0x811c9dc5);
    assert_int_equal(persona_fnv1a32(S("a")), 0xe40c292c);
    assert_int_equal(persona_fnv1a32(S("foobar")), 0xbf9cf968);
}


static void
test_utf16_units(void **state)
{
    /* node: hashFnv32a() of the decoded string */
    assert_int_equal(persona_fnv1a32(S("\xc3\xa9")), 1812687940u);
    assert_int_equal(persona_fnv1a32(S("\xe6\x97\xa5\xe6\x9c\xac")),
                     1610399396u);
    assert_int_equal(persona_fnv1a32(S("\xf0\x9f\x98\x80")), 3409036472u);
    assert_int_equal(persona_fnv1a32(S("a\xc3\xa9\xe6\x97\xa5"
                                       "\xf0\x9f\x98\x80" "b\x80")),
                     2627395042u);

    /* "é" is the one unit 0xe9, not the bytes c3 a9 */
    assert_int_equal(persona_fnv1a32(S("\xc3\xa9")),
                     (0x811c9dc5 ^ 0xe9) * 0x01000193u);

    /* node: hash("hero", "user-😀", 1 and 2), namespace "homepage" */
    assert_true(persona_hash_v1(S("hero"), S("user-\xf0\x9f\x98\x80"))
                == 0.52);
    assert_true(persona_hash_v2(S("hero"), S("user-\xf0\x9f\x98\x80"))
                == 0.574);
    assert_true(persona_hash_layer(S("homepage"), S("\xc3\xa9")) == 0.198);
    assert_true(persona_hash_v2(S("hero"), S("\xe6\x97\xa5\xe6\x9c\xac"))
                == 0.0187);
}


static void
test_invalid_utf8(void **state)
{
    /* node: TextDecoder's U+FFFD, then hashFnv32a() */

    /* a stray byte: U+FFFD "a" */
    assert_int_equal(persona_fnv1a32(S("\xff" "a")), 2967678187u);

    /* a truncated sequence is one U+FFFD, the next byte counts afresh */
    assert_int_equal(persona_fnv1a32(S("\xe6\x97" "a")), 2967678187u);

    /* cut by the end of input: one U+FFFD */
    assert_int_equal(persona_fnv1a32(S("\xe6\x97")), 2007932456u);
    assert_int_equal(persona_fnv1a32(S("\xf0\x9f\x98")), 2007932456u);

    /* surrogates, overlong forms, above U+10FFFF: one U+FFFD per byte */
    assert_int_equal(persona_fnv1a32(S("\xed\xa0\x80")), 4149960502u);
    assert_int_equal(persona_fnv1a32(S("\xe0\x80\x80")), 4149960502u);
    assert_int_equal(persona_fnv1a32(S("\xf4\x90\x80\x80")), 809377681u);
    assert_int_equal(persona_fnv1a32(S("\xc0\xaf")), 1015284303u);

    /*
     * node: seed and id are two strings, decoded one by one; a sequence
     * cut at the end of the seed is not completed by the id ("日" whole
     * gives 0.2243)
     */
    assert_true(persona_hash_v2(S("\xe6\x97"), S("\xa5")) == 0.1592);
    assert_true(persona_hash_v2(S(""), S("\xe6\x97\xa5")) == 0.2243);
    assert_true(persona_hash_v1(S("\xa5"), S("\xe6\x97")) == 0.303);
}


static void
test_streaming(void **state)
{
    static const unsigned char  s[] = "a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80"
                                      "b\x80\xe6\x97" "c\xf4\x90";
    size_t                      n, i, j;
    uint32_t                    whole;
    persona_fnv_t               f;

    n = sizeof(s) - 1;
    whole = persona_fnv1a32(s, n);

    /* every way of cutting the input in three pieces */

    for (i = 0; i <= n; i++) {
        for (j = i; j <= n; j++) {
            persona_fnv_init(&f);
            persona_fnv_update(&f, s, i);
            persona_fnv_update(&f, s + i, j - i);
            persona_fnv_update(&f, s + j, n - j);

            assert_int_equal(persona_fnv_final(&f), whole);
        }
    }

    /* seed and id hashed without concatenating them */
    persona_fnv_init(&f);
    persona_fnv_update(&f, S("hero"));
    persona_fnv_update(&f, S("user-42"));
    assert_int_equal(persona_fnv_final(&f), 352303767u);
}


static void
test_percent(void **state)
{
    assert_int_equal(persona_hash_parse_percent(S("50%")), 5000);
    assert_int_equal(persona_hash_parse_percent(S("12.5%")), 1250);
    assert_int_equal(persona_hash_parse_percent(S("33.33%")), 3333);
    assert_int_equal(persona_hash_parse_percent(S("0%")), 0);
    assert_int_equal(persona_hash_parse_percent(S("100%")), 10000);
    assert_int_equal(persona_hash_parse_percent(S("0.01%")), 1);
    assert_int_equal(persona_hash_parse_percent(S("0.5%")), 50);
    assert_int_equal(persona_hash_parse_percent(S("7.05%")), 705);
    assert_int_equal(persona_hash_parse_percent(S("50.00%")), 5000);
    assert_int_equal(persona_hash_parse_percent(S("100.00%")), 10000);

    /* the double nearest the decimal, as JavaScript parses "0.3333" */
    assert_true(3333 / 10000.0 == 0.3333);
    assert_true(1250 / 10000.0 == 0.125);
    assert_true(1 / 10000.0 == 0.0001);

    assert_int_equal(persona_hash_parse_percent(NULL, 0), -1);
    assert_int_equal(persona_hash_parse_percent(S("")), -1);
    assert_int_equal(persona_hash_parse_percent(S("%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("50")), -1);
    assert_int_equal(persona_hash_parse_percent(S("abc%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5o%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("100.01%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("101%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("1000%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("33.333%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("0.001%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("1.230%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("-5%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("+5%")), -1);
    assert_int_equal(persona_hash_parse_percent(S(" 5%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5 %")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5% ")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5%%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5.%")), -1);
    assert_int_equal(persona_hash_parse_percent(S(".5%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("1.2.3%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("05%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("00%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5e1%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5,5%")), -1);

    /* the length is the length: no reading past it, no NUL needed */
    assert_int_equal(persona_hash_parse_percent(
                         (const unsigned char *) "50%0%", 3), 5000);
}


static void
test_ranges(void **state)
{
    unsigned  w[4];
    double    s[4], e[4];

    /* two variants, 50% traffic: node [[0,0.25],[0.5,0.75]] */
    w[0] = 5000;
    w[1] = 5000;
    persona_hash_ranges(w, 2, 0, 5000, s, e);

    assert_true(s[0] == 0 && e[0] == 0.25);
    assert_true(s[1] == 0.5 && e[1] == 0.75);

    assert_int_equal(persona_hash_choose(0, s, e, 2), 0);
    assert_int_equal(persona_hash_choose(0.2499, s, e, 2), 0);
    assert_int_equal(persona_hash_choose(0.25, s, e, 2), -1);
    assert_int_equal(persona_hash_choose(0.4999, s, e, 2), -1);
    assert_int_equal(persona_hash_choose(0.5, s, e, 2), 1);
    assert_int_equal(persona_hash_choose(0.75, s, e, 2), -1);
    assert_int_equal(persona_hash_choose(0.9999, s, e, 2), -1);

    /* equal shares are exactly 1 / n, as in the SDK */
    persona_hash_ranges(NULL, 3, 1, 10000, s, e);

    assert_true(s[0] == 0 && e[0] == 1.0 / 3);
    assert_true(s[1] == 1.0 / 3 && e[1] == 1.0 / 3 + 1.0 / 3);
    assert_true(s[2] == 1.0 / 3 + 1.0 / 3);
    assert_true(e[2] == 1);
    assert_int_equal(persona_hash_choose(0.9999, s, e, 3), 2);

    /* node: getBucketRanges(3, 0.3333) */
    persona_hash_ranges(NULL, 3, 1, 3333, s, e);

    assert_true(e[0] == 0.11109999999999999);
    assert_true(s[1] == 0.3333333333333333 && e[1] == 0.4444333333333333);
    assert_true(s[2] == 0.6666666666666666 && e[2] == 0.7777666666666666);

    /* node: getBucketRanges(3, 0.8, [0.3333, 0.3333, 0.3334]) */
    w[0] = 3333;
    w[1] = 3333;
    w[2] = 3334;
    persona_hash_ranges(w, 3, 0, 8000, s, e);

    assert_true(s[0] == 0 && e[0] == 0.26664);
    assert_true(s[1] == 0.3333 && e[1] == 0.5999399999999999);
    assert_true(s[2] == 0.6666 && e[2] == 0.9333199999999999);

    /* node: getBucketRanges(4, 0.07, [0.1, 0.2, 0.3, 0.4]) */
    w[0] = 1000;
    w[1] = 2000;
    w[2] = 3000;
    w[3] = 4000;
    persona_hash_ranges(w, 4, 0, 700, s, e);

    assert_true(s[0] == 0 && e[0] == 0.007000000000000001);
    assert_true(s[1] == 0.1 && e[1] == 0.114);
    assert_true(s[2] == 0.30000000000000004 && e[2] == 0.32100000000000006);
    assert_true(s[3] == 0.6000000000000001 && e[3] == 0.6280000000000001);

    /* traffic beyond 100% is 100%, as the SDK clamps coverage */
    w[0] = 5000;
    w[1] = 5000;
    persona_hash_ranges(w, 2, 0, 20000, s, e);
    assert_true(e[0] == 0.5 && e[1] == 1);

    /* no traffic: nobody is in */
    persona_hash_ranges(w, 2, 0, 0, s, e);
    assert_int_equal(persona_hash_choose(0, s, e, 2), -1);
    assert_int_equal(persona_hash_choose(0.5, s, e, 2), -1);
}


static void
test_murmur2(void **state)
{
    size_t                i, k, n;
    const unsigned char  *p;

    static const char    *keys[] = { "abc", "user1", "user3", "user-42hero",
                                     "", "\xff\xfe\xfd\xfc\x80" };
    static uint32_t       want[] = { 324500635u, 245918201u, 3620485822u,
                                     3789917649u, 0, 927559944u };

    /* nginx; and the same for every place the key is cut in two */

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        p = (const unsigned char *) keys[i];
        n = strlen(keys[i]);

        for (k = 0; k <= n; k++) {
            assert_int_equal(persona_murmur2(p, k, p + k, n - k), want[i]);
        }
    }

    assert_int_equal(persona_murmur2(NULL, 0, NULL, 0), 0);
    assert_int_equal(persona_murmur2(NULL, 0, S("abc")), 324500635u);

    /* id "user-42" with seed "hero", as split_clients "${id}hero" */
    assert_int_equal(persona_murmur2(S("user-42"), S("hero")), 3789917649u);
}


static void
test_split_ranges(void **state)
{
    unsigned  w[3];
    uint32_t  e[3];

    w[0] = 5000;
    w[1] = 3000;
    w[2] = 2000;
    persona_hash_split_ranges(w, 3, 10000, e);

    /* split_clients: each part rounded down on its own, then summed */
    assert_int_equal(e[0], 2147483647u);
    assert_int_equal(e[1], 2147483647u + 1288490188u);
    assert_int_equal(e[2], 2147483647u + 1288490188u + 858993459u);

    assert_int_equal(persona_hash_split_choose(0, e, 3), 0);
    assert_int_equal(persona_hash_split_choose(e[0] - 1, e, 3), 0);
    assert_int_equal(persona_hash_split_choose(e[0], e, 3), 1);
    assert_int_equal(persona_hash_split_choose(e[1], e, 3), 2);

    /* as in split_clients without "*", the top hashes are in no part */
    assert_int_equal(e[2], 0xfffffffeu);
    assert_int_equal(persona_hash_split_choose(0xfffffffeu, e, 3), -1);
    assert_int_equal(persona_hash_split_choose(0xffffffffu, e, 3), -1);

    /* 50% traffic equals split_clients with "25%; 15%; 10%;" */
    persona_hash_split_ranges(w, 3, 5000, e);

    assert_int_equal(e[0], 2500 * (uint64_t) 0xffffffff / 10000);
    assert_int_equal(e[1], e[0] + 1500 * (uint64_t) 0xffffffff / 10000);
    assert_int_equal(e[2], e[1] + 1000 * (uint64_t) 0xffffffff / 10000);
    assert_int_equal(persona_hash_split_choose(e[2], e, 3), -1);

    /* 0.01% steps: 33.33% + 33.33% + 33.34% */
    w[0] = 3333;
    w[1] = 3333;
    w[2] = 3334;
    persona_hash_split_ranges(w, 3, 10000, e);

    assert_int_equal(e[0], 1431512599u);
    assert_int_equal(e[1], 2u * 1431512599u);
    assert_int_equal(e[2], 2u * 1431512599u + 1431942096u);

    /* an empty part owns nothing, even at the start */
    w[0] = 0;
    w[1] = 10000;
    persona_hash_split_ranges(w, 2, 10000, e);

    assert_int_equal(e[0], 0);
    assert_int_equal(persona_hash_split_choose(0, e, 2), 1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_growthbook_vectors),
        cmocka_unit_test(test_fnv_reference),
        cmocka_unit_test(test_utf16_units),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_percent),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_murmur2),
        cmocka_unit_test(test_split_ranges),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
