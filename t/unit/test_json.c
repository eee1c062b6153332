/*
 * JSON and HTML escaping.
 */

#include "unit.h"

#include "persona_json.h"


static void
json(const char *in, size_t len, const char *want)
{
    unsigned char  out[256], *end;

    assert_int_equal(persona_json_escape_len((const unsigned char *) in, len),
                     strlen(want));
    end = persona_json_escape(out, (const unsigned char *) in, len);
    assert_int_equal(end - out, strlen(want));
    assert_memory_equal(out, want, strlen(want));
}


static void
test_json(void **state)
{
    json("plain", 5, "plain");
    json("a\"b\\c", 5, "a\\\"b\\\\c");
    json("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f");
    json("\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f");
    json("\0", 1, "\\u0000");
    json("caf\xc3\xa9", 5, "caf\xc3\xa9");
    json("\xe6\x97\xa5", 3, "\xe6\x97\xa5");
    json("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
    json("\xe2\x80\xa8\xe2\x80\xa9", 6, "\\u2028\\u2029");
    json("\xff", 1, "\\ufffd");
    json("\xc3", 1, "\\ufffd");                   /* truncated */
    json("\xc0\xaf", 2, "\\ufffd\\ufffd");        /* overlong */
    json("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");  /* surrogate */
    json("\xf4\x90\x80\x80", 4,
         "\\ufffd\\ufffd\\ufffd\\ufffd");          /* above U+10FFFF */
    json("a\xe6\x97" "b", 4, "a\\ufffd\\ufffdb");
}


static void
test_utf8(void **state)
{
    assert_true(persona_utf8_valid((const unsigned char *) "caf\xc3\xa9", 5));
    assert_false(persona_utf8_valid((const unsigned char *) "\xc3", 1));
}


static void
test_html(void **state)
{
    unsigned char  out[256], *end;
    const char    *in = "<script>alert(\"x\" & 'y')</script>";
    const char    *want = "&lt;script&gt;alert(&quot;x&quot; &amp; "
                          "&#39;y&#39;)&lt;/script&gt;";

    assert_int_equal(persona_html_escape_len((const unsigned char *) in,
                                             strlen(in)), strlen(want));
    end = persona_html_escape(out, (const unsigned char *) in, strlen(in));
    assert_int_equal(end - out, strlen(want));
    assert_memory_equal(out, want, strlen(want));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_html),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
