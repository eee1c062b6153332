/*
 * Hashing and bucketing: GrowthBook vectors, UTF-16 units, ranges,
 * MurmurHash2 and split_clients boundaries.
 */

#include "unit.h"

#include "persona_hash.h"


#define S(s)  (const unsigned char *) (s), strlen(s)


static void
test_vectors(void **state)
{
    assert_true(persona_hash_v1(S(""), S("a")) == 0.22);
    assert_true(persona_hash_v1(S("b"), S("a")) == 0.946);
    assert_true(persona_hash_v2(S("seed"), S("a")) == 0.0505);
    assert_true(persona_hash_v2(S("foo"), S("ab")) == 0.2575);
    assert_true(persona_hash_v2(S("89123klj"), S("8952klfjas09ujkasdf"))
                == 0.124);
}


static void
test_fnv(void **state)
{
    /* FNV-1a 32 reference values */
    assert_int_equal(persona_fnv1a32(S("")), 0x811c9dc5);
    assert_int_equal(persona_fnv1a32(S("a")), 0xe40c292c);
    assert_int_equal(persona_fnv1a32(S("foobar")), 0xbf9cf968);
}


static void
test_utf16(void **state)
{
    persona_fnv_t  f;
    uint32_t       h;

    /*
     * JavaScript hashes UTF-16 units: "é" is the unit 0xe9, not the
     * bytes c3 a9; "😀" is the pair d83d de00.  Expected values computed
     * by hand: h = (h ^ unit) * 16777619 mod 2^32.
     */

    h = 0x811c9dc5;
    h = (h ^ 0xe9) * 0x01000193u;
    assert_int_equal(persona_fnv1a32(S("\xc3\xa9")), h);

    h = 0x811c9dc5;
    h = (h ^ 0xd83d) * 0x01000193u;
    h = (h ^ 0xde00) * 0x01000193u;
    assert_int_equal(persona_fnv1a32(S("\xf0\x9f\x98\x80")), h);

    h = 0x811c9dc5;
    h = (h ^ 0x65e5) * 0x01000193u;
    h = (h ^ 0x672c) * 0x01000193u;
    assert_int_equal(persona_fnv1a32(S("\xe6\x97\xa5\xe6\x9c\xac")), h);

    /* an invalid byte is U+FFFD, as TextDecoder makes it */
    h = 0x811c9dc5;
    h = (h ^ 0xfffd) * 0x01000193u;
    h = (h ^ 'a') * 0x01000193u;
    assert_int_equal(persona_fnv1a32(S("\xff" "a")), h);

    /* a sequence split between two updates */
    persona_fnv_init(&f);
    persona_fnv_update(&f, S("\xe6\x97"));
    persona_fnv_update(&f, S("\xa5\xe6\x9c\xac"));
    assert_int_equal(persona_fnv_final(&f),
                     persona_fnv1a32(S("\xe6\x97\xa5\xe6\x9c\xac")));
}


static void
test_streaming(void **state)
{
    persona_fnv_t  f;

    persona_fnv_init(&f);
    persona_fnv_update(&f, S("seed"));
    persona_fnv_update(&f, S("user-42"));
    assert_int_equal(persona_fnv_final(&f), persona_fnv1a32(S("seeduser-42")));
}


static void
test_percent(void **state)
{
    assert_int_equal(persona_hash_parse_percent(S("50%")), 5000);
    assert_int_equal(persona_hash_parse_percent(S("12.5%")), 1250);
    assert_int_equal(persona_hash_parse_percent(S("33.33%")), 3333);
    assert_int_equal(persona_hash_parse_percent(S("0.01%")), 1);
    assert_int_equal(persona_hash_parse_percent(S("0%")), 0);
    assert_int_equal(persona_hash_parse_percent(S("100%")), 10000);
    assert_int_equal(persona_hash_parse_percent(S("100.00%")), 10000);
    assert_true(3333 / 10000.0 == 0.3333);
    assert_true(1250 / 10000.0 == 0.125);

    assert_int_equal(persona_hash_parse_percent(S("100.01%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("33.333%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("50")), -1);
    assert_int_equal(persona_hash_parse_percent(S("%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("-5%")), -1);
    assert_int_equal(persona_hash_parse_percent(S(" 5%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5.%")), -1);
    assert_int_equal(persona_hash_parse_percent(S(".5%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("5o%")), -1);
    assert_int_equal(persona_hash_parse_percent(S("1000%")), -1);
}


static void
test_ranges(void **state)
{
    unsigned  w[3] = { 5000, 5000, 0 };
    double    s[3], e[3];

    persona_hash_ranges(w, 2, 0, 5000, s, e);
    assert_true(s[0] == 0 && e[0] == 0.25);
    assert_true(s[1] == 0.5 && e[1] == 0.75);

    assert_int_equal(persona_hash_choose(0.1, s, e, 2), 0);
    assert_int_equal(persona_hash_choose(0.25, s, e, 2), -1);
    assert_int_equal(persona_hash_choose(0.5, s, e, 2), 1);
    assert_int_equal(persona_hash_choose(0.8, s, e, 2), -1);

    /* equal shares are exactly 1/n, as in the SDK */
    persona_hash_ranges(w, 3, 1, 10000, s, e);
    assert_true(e[0] == 1.0 / 3);
    assert_true(s[1] == 1.0 / 3);
    assert_true(e[1] == 1.0 / 3 + 1.0 / 3);
    assert_true(e[2] == (1.0 / 3 + 1.0 / 3) + 1.0 / 3);
}


static void
test_murmur(void **state)
{
    const char  *keys[] = { "abc", "user1", "user3" };
    uint32_t     want[] = { 324500635, 245918201, 3620485822u };
    size_t       i, k, n;

    for (i = 0; i < 3; i++) {
        n = strlen(keys[i]);

        for (k = 0; k <= n; k++) {
            assert_int_equal(persona_murmur2((const unsigned char *) keys[i],
                                             k,
                                             (const unsigned char *) keys[i]
                                             + k, n - k),
                             want[i]);
        }
    }
}


static void
test_split(void **state)
{
    unsigned  w[3] = { 5000, 3000, 2000 };
    uint32_t  e[3];

    persona_hash_split_ranges(w, 3, 10000, e);

    /* as nginx's split_clients: last += percent * 0xffffffff / 10000 */
    assert_int_equal(e[0], (uint32_t) (5000 * (uint64_t) 0xffffffff / 10000));
    assert_int_equal(e[1], e[0]
                     + (uint32_t) (3000 * (uint64_t) 0xffffffff / 10000));
    assert_int_equal(persona_hash_split_choose(0, e, 3), 0);
    assert_int_equal(persona_hash_split_choose(e[0], e, 3), 1);
    assert_int_equal(persona_hash_split_choose(0xffffffff, e, 3), -1);

    persona_hash_split_ranges(w, 3, 5000, e);
    assert_int_equal(e[0], (uint32_t) (2500 * (uint64_t) 0xffffffff / 10000));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_fnv),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_percent),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_murmur),
        cmocka_unit_test(test_split),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
