/*
 * JSON and HTML escaping: each escape, the UTF-8 boundaries, every kind
 * of invalid sequence, and exact output lengths.
 */

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "persona_json.h"


/*
 * The output goes to a heap buffer of exactly the announced length, so
 * that the address sanitizer catches a write past it.
 */

static void
json(const char *in, size_t len, const char *want)
{
    size_t          n;
    unsigned char  *out, *end;

    n = persona_json_escape_len((const unsigned char *) in, len);
    assert_int_equal(n, strlen(want));

    out = malloc(n + 1);
    assert_non_null(out);

    end = persona_json_escape(out, (const unsigned char *) in, len);
    assert_int_equal(end - out, n);
    assert_memory_equal(out, want, n);

    free(out);
}


static void
html(const char *in, size_t len, const char *want)
{
    size_t          n;
    unsigned char  *out, *end;

    n = persona_html_escape_len((const unsigned char *) in, len);
    assert_int_equal(n, strlen(want));

    out = malloc(n + 1);
    assert_non_null(out);

    end = persona_html_escape(out, (const unsigned char *) in, len);
    assert_int_equal(end - out, n);
    assert_memory_equal(out, want, n);

    free(out);
}


static void
test_json_ascii(void **state)
{
    json("", 0, "");
    json("plain text, 100% ascii!", 23, "plain text, 100% ascii!");
    json("a\"b\\c/d", 7, "a\\\"b\\\\c/d");
    json("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f");
    json("\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f");
    json("\0", 1, "\\u0000");
    json("x\x0by\x1bz", 5, "x\\u000by\\u001bz");
    json("<script>", 8, "<script>");
    assert_int_equal(persona_json_escape_len(NULL, 0), 0);
}


static void
test_json_controls(void **state)
{
    int    c;
    char   in[1], want[8];

    for (c = 0; c < 0x20; c++) {
        in[0] = (char) c;

        switch (c) {
        case '\n': strcpy(want, "\\n"); break;
        case '\r': strcpy(want, "\\r"); break;
        case '\t': strcpy(want, "\\t"); break;
        case '\b': strcpy(want, "\\b"); break;
        case '\f': strcpy(want, "\\f"); break;
        default: snprintf(want, sizeof(want), "\\u%04x", c);
        }

        json(in, 1, want);
    }
}


static void
test_json_valid_utf8(void **state)
{
    json("caf\xc3\xa9", 5, "caf\xc3\xa9");
    json("\xc2\x80", 2, "\xc2\x80");                  /* U+0080 */
    json("\xdf\xbf", 2, "\xdf\xbf");                  /* U+07FF */
    json("\xe0\xa0\x80", 3, "\xe0\xa0\x80");          /* U+0800 */
    json("\xed\x9f\xbf", 3, "\xed\x9f\xbf");          /* U+D7FF */
    json("\xee\x80\x80", 3, "\xee\x80\x80");          /* U+E000 */
    json("\xef\xbf\xbd", 3, "\xef\xbf\xbd");          /* U+FFFD */
    json("\xef\xbf\xbf", 3, "\xef\xbf\xbf");          /* U+FFFF */
    json("\xf0\x90\x80\x80", 4, "\xf0\x90\x80\x80");  /* U+10000 */
    json("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");  /* emoji */
    json("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf");  /* U+10FFFF */

    /* line and paragraph separators, not their neighbours */
    json("\xe2\x80\xa8\xe2\x80\xa9", 6, "\\u2028\\u2029");
    json("\xe2\x80\xa7\xe2\x80\xaa", 6, "\xe2\x80\xa7\xe2\x80\xaa");
    json("a\xe2\x80\xa8" "b", 5, "a\\u2028b");
}


static void
test_json_invalid_utf8(void **state)
{
    json("\xff", 1, "\\ufffd");
    json("\xfe\xf5\xf8", 3, "\\ufffd\\ufffd\\ufffd");
    json("\x80", 1, "\\ufffd");                         /* lone tail */
    json("a\xbf" "b", 3, "a\\ufffdb");
    json("\xc3", 1, "\\ufffd");                         /* truncated */
    json("\xe2\x80", 2, "\\ufffd\\ufffd");
    json("\xf0\x9f\x98", 3, "\\ufffd\\ufffd\\ufffd");
    json("a\xe6\x97" "b", 4, "a\\ufffd\\ufffdb");
    json("\xc3" "\xc3\xa9", 3, "\\ufffd\xc3\xa9");      /* then valid */
    json("\xe2\x80\xc3\xa9", 4, "\\ufffd\\ufffd\xc3\xa9");
    json("\xc0\xaf", 2, "\\ufffd\\ufffd");              /* overlong */
    json("\xc1\xbf", 2, "\\ufffd\\ufffd");
    json("\xc0\x80", 2, "\\ufffd\\ufffd");              /* overlong NUL */
    json("\xe0\x80\x80", 3, "\\ufffd\\ufffd\\ufffd");
    json("\xe0\x9f\xbf", 3, "\\ufffd\\ufffd\\ufffd");
    json("\xf0\x80\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd");
    json("\xf0\x8f\xbf\xbf", 4, "\\ufffd\\ufffd\\ufffd\\ufffd");
    json("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd");   /* surrogates */
    json("\xed\xbf\xbf", 3, "\\ufffd\\ufffd\\ufffd");
    json("\xf4\x90\x80\x80", 4,
         "\\ufffd\\ufffd\\ufffd\\ufffd");                /* > U+10FFFF */
    json("\xc3\x22", 2, "\\ufffd\\\"");                 /* tail is '"' */
    json("\xe2\x0a\x80", 3, "\\ufffd\\n\\ufffd");
}


static void
test_json_long_runs(void **state)
{
    size_t  i;
    char    in[300], want[400];

    /* plain runs on both sides of escapes */

    for (i = 0; i < 300; i++) {
        in[i] = (char) ('a' + i % 26);
    }

    in[100] = '"';
    in[200] = '\xff';

    memcpy(want, in, 100);
    memcpy(want + 100, "\\\"", 2);
    memcpy(want + 102, in + 101, 99);
    memcpy(want + 201, "\\ufffd", 6);
    memcpy(want + 207, in + 201, 99);
    want[306] = '\0';

    json(in, 300, want);
}


static void
test_utf8_valid(void **state)
{
    assert_int_equal(persona_json_utf8_valid(
                         (const unsigned char *) "caf\xc3\xa9", 5), 1);
    assert_int_equal(persona_json_utf8_valid(NULL, 0), 1);
    assert_int_equal(persona_json_utf8_valid(
                         (const unsigned char *) "\xc3", 1), 0);
    assert_int_equal(persona_json_utf8_valid(
                         (const unsigned char *) "ab\xed\xa0\x80", 5), 0);
    assert_int_equal(persona_json_utf8_valid(
                         (const unsigned char *) "\xf4\x8f\xbf\xbf", 4), 1);
}


static void
test_html(void **state)
{
    const char  *in = "<script>alert(\"x\" & 'y')</script>";

    html("", 0, "");
    html("plain", 5, "plain");
    html("&", 1, "&amp;");
    html("<", 1, "&lt;");
    html(">", 1, "&gt;");
    html("\"", 1, "&quot;");
    html("'", 1, "&#39;");
    html("&amp;", 5, "&amp;amp;");
    html(in, strlen(in),
         "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)"
         "&lt;/script&gt;");

    /* other bytes, invalid UTF-8 and controls included, are kept */
    html("caf\xc3\xa9 \xff\xc3\n\x01", 10, "caf\xc3\xa9 \xff\xc3\n\x01");
    assert_int_equal(persona_html_escape_len(
                         (const unsigned char *) "a\0b", 3), 3);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_json_ascii),
        cmocka_unit_test(test_json_controls),
        cmocka_unit_test(test_json_valid_utf8),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_json_long_runs),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_html),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
