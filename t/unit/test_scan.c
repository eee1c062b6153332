/*
 * The slot marker scanner: every rule of persona_scan.h, and the same
 * result whatever the chunking.
 */

#include <stdio.h>

#include "unit.h"

#include "persona_scan.h"


/* events rendered as text: TEXT and DEFAULT bytes as is (DEFAULT bytes
 * marked with a leading '~' per event), others as [O:name] etc. */

typedef struct {
    char    out[8192];
    size_t  n;
    int     fail_at;
    int     calls;
} rec_t;


static int
rec(void *data, persona_scan_event_e ev, const unsigned char *p, size_t len)
{
    rec_t       *r = data;
    const char  *tag[] = { "", "[O:", "", "[C:", "[U:" };

    if (++r->calls == r->fail_at) {
        return 7;
    }

    if (ev == PERSONA_SCAN_TEXT || ev == PERSONA_SCAN_DEFAULT) {
        /* adjacent runs of the same kind are merged */
        if (ev == PERSONA_SCAN_DEFAULT) {
            if (r->n && r->out[r->n - 1] == '\x01') {
                r->n--;

            } else {
                r->out[r->n++] = '{';
            }
        }

        memcpy(r->out + r->n, p, len);
        r->n += len;

        if (ev == PERSONA_SCAN_DEFAULT) {
            r->out[r->n++] = '\x01';
        }

        return 0;
    }

    r->n += sprintf(r->out + r->n, "%s%.*s]", tag[ev], (int) len, p);

    return 0;
}


static void
scan(const char *in, size_t chunk, char *res)
{
    size_t          n, i, l, j, k;
    rec_t           r;
    persona_scan_t  s;

    memset(&r, 0, sizeof(r));
    persona_scan_init(&s);

    n = strlen(in);

    if (n == 0) {
        persona_scan_feed(&s, NULL, 0, 1, rec, &r);
    }

    for (i = 0; i < n; i += l) {
        l = (n - i < chunk) ? n - i : chunk;
        assert_int_equal(persona_scan_feed(&s, (const unsigned char *) in + i,
                                           l, i + l >= n, rec, &r), 0);
    }

    for (j = k = 0; j < r.n; j++) {
        res[k++] = (r.out[j] == '\x01') ? '}' : r.out[j];
    }

    res[k] = '\0';
}


static void
check(const char *in, const char *want)
{
    char    whole[8192], part[8192];
    size_t  c;

    scan(in, 1 << 20, whole);
    assert_string_equal(whole, want);

    for (c = 1; c < 24; c++) {
        scan(in, c, part);
        assert_string_equal(part, want);
    }
}


static void
test_basic(void **state)
{
    check("a<!--persona:hero-->def<!--/persona:hero-->b",
          "a[O:hero]{def}[C:hero]b");
    check("", "");
    check("no markers <p>at all</p> <!-- comment -->",
          "no markers <p>at all</p> <!-- comment -->");
    check("<!--persona:a--><!--/persona:a-->", "[O:a][C:a]");
    check("<!--persona:a-->1<!--/persona:a--><!--persona:b-->2"
          "<!--/persona:b-->", "[O:a]{1}[C:a][O:b]{2}[C:b]");
    check("<!--persona:A_b-9-->x<!--/persona:A_b-9-->", "[O:A_b-9]{x}[C:A_b-9]");
}


static void
test_not_markers(void **state)
{
    check("<<!--persona:a-->x<!--/persona:a-->", "<[O:a]{x}[C:a]");
    check("<!--persona:bad name-->", "<!--persona:bad name-->");
    check("<!--Persona:a-->", "<!--Persona:a-->");
    check("<!--persona:-->", "<!--persona:-->");
    check("<!--persona:a->", "<!--persona:a->");
    check("<!--persona:a-- >", "<!--persona:a-- >");
    check("<!--persona:a", "<!--persona:a");
    check("x<!--", "x<!--");
}


static void
test_stray_and_nesting(void **state)
{
    check("x<!--/persona:z-->y", "xy");
    check("<!--persona:a--><!--persona:b-->x<!--/persona:b-->"
          "<!--/persona:a-->",
          "[O:a]{<!--persona:b-->x<!--/persona:b-->}[C:a]");
}


static void
test_unclosed(void **state)
{
    check("a<!--persona:s-->tail", "a[O:s]{tail}[U:s]");
    check("a<!--persona:s-->tail<!--/persona:s--", "a[O:s]{tail<!--/persona:s--}[U:s]");
    check("a<!--persona:s-->", "a[O:s][U:s]");
}


static void
test_long_name(void **state)
{
    char  in[256], want[256];

    memset(in, 0, sizeof(in));
    strcpy(in, "<!--persona:");
    memset(in + 12, 'n', 64);
    strcat(in, "-->");

    snprintf(want, sizeof(want), "[O:%.64s][U:%.64s]", in + 12, in + 12);
    check(in, want);

    strcpy(in, "<!--persona:");
    memset(in + 12, 'n', 65);
    strcat(in, "-->");
    check(in, in);

    strcpy(in, "<!--persona:");
    memset(in + 12, 'n', 100);
    check(in, in);
}


static void
test_handler_error(void **state)
{
    rec_t           r;
    persona_scan_t  s;
    const char     *in = "a<!--persona:x-->b<!--/persona:x-->c";

    memset(&r, 0, sizeof(r));
    r.fail_at = 2;
    persona_scan_init(&s);

    assert_int_equal(persona_scan_feed(&s, (const unsigned char *) in,
                                       strlen(in), 1, rec, &r), 7);
    assert_int_equal(r.calls, 2);
}


static void
test_binary(void **state)
{
    rec_t           r;
    persona_scan_t  s;
    unsigned char   in[] = "\0<\0<!--persona:q-->\0\xff<!--/persona:q-->\0";

    memset(&r, 0, sizeof(r));
    persona_scan_init(&s);

    assert_int_equal(persona_scan_feed(&s, in, sizeof(in) - 1, 1, rec, &r),
                     0);
    assert_int_equal(r.n, 18);
    assert_memory_equal(r.out, "\0<\0[O:q]{\0\xff\x01[C:q]\0", r.n);
}


/* reflected markers: text a visitor controls, where HTML has no comment */

static void
test_html_context(void **state)
{
    /* the page's real slot after each context is still a slot */
#define SLOT "<!--persona:h-->d<!--/persona:h-->"
#define FILLED "[O:h]{d}[C:h]"

    check("<script>var q = \"<!--persona:h-->\";</script>" SLOT,
          "<script>var q = \"<!--persona:h-->\";</script>" FILLED);
    check("<SCRIPT type=\"a>b\">\"<!--/persona:h-->\"</Script >" SLOT,
          "<SCRIPT type=\"a>b\">\"<!--/persona:h-->\"</Script >" FILLED);
    check("<style>/* <!--persona:h--> */</style>" SLOT,
          "<style>/* <!--persona:h--> */</style>" FILLED);
    check("<textarea><!--persona:h--></textarea>" SLOT,
          "<textarea><!--persona:h--></textarea>" FILLED);
    check("<title>x <!--persona:h--></title>" SLOT,
          "<title>x <!--persona:h--></title>" FILLED);
    check("<xmp><!--persona:h--></xmp><iframe><!--persona:h--></iframe>"
          "<noembed><!--persona:h--></noembed>"
          "<noframes><!--persona:h--></noframes>" SLOT,
          "<xmp><!--persona:h--></xmp><iframe><!--persona:h--></iframe>"
          "<noembed><!--persona:h--></noembed>"
          "<noframes><!--persona:h--></noframes>" FILLED);
    check("<plaintext>" SLOT, "<plaintext>" SLOT);

    /* an end tag needs its whole name and a space, "/" or ">" */
    check("<title></titlex><!--persona:h--></title>" SLOT,
          "<title></titlex><!--persona:h--></title>" FILLED);
    check("<title></title/><!--persona:h-->x", "<title></title/>[O:h]{x}[U:h]");

    /* attribute values, quoted or not, and tags */
    check("<input value=\"<!--persona:h-->\">" SLOT,
          "<input value=\"<!--persona:h-->\">" FILLED);
    check("<input value='a>b<!--persona:h-->'>" SLOT,
          "<input value='a>b<!--persona:h-->'>" FILLED);
    check("<a title = \"x\" b=<!--persona:h--> c>" SLOT,
          "<a title = \"x\" b=<!--persona:h--> c>" FILLED);
    check("<a x\"y=\"z><!--persona:h-->\">" SLOT,
          "<a x\"y=\"z><!--persona:h-->\">" FILLED);
    check("<a \"x=\"y>\">" SLOT, "<a \"x=\"y>\">" FILLED);
    check("<a =\"x>" SLOT, "<a =\"x>" FILLED);
    check("</p foo=\"<!--persona:h-->\">" SLOT,
          "</p foo=\"<!--persona:h-->\">" FILLED);
    check("a < b <!--persona:h-->x", "a < b [O:h]{x}[U:h]");
    check("</>" SLOT, "</>" FILLED);
    check("</ <!--persona:h-->x", "</ <!--persona:h-->x");

    /* comments of other kinds end as HTML ends them */
    check("<!--[if IE]><p><!--persona:h--></p><![endif]-->" SLOT,
          "<!--[if IE]><p><!--persona:h--></p><![endif]-->" FILLED);
    check("<!-- a -- b --!>" SLOT, "<!-- a -- b --!>" FILLED);
    check("<!-->" SLOT, "<!-->" FILLED);
    check("<!--->" SLOT, "<!--->" FILLED);
    check("<!---->" SLOT, "<!---->" FILLED);
    check("<!--!> <!--persona:h-->-->" SLOT,
          "<!--!> <!--persona:h-->-->" FILLED);
    check("<!-- <!--persona:h--> -->x", "<!-- <!--persona:h--> -->x");
    check("<!DOCTYPE html><?xml x?>" SLOT, "<!DOCTYPE html><?xml x?>" FILLED);
    check("<!x <!--persona:h-->x", "<!x <!--persona:h-->x");
    check("<![CDATA[ > <!--persona:h--> ]]>" SLOT,
          "<![CDATA[ > <!--persona:h--> ]]>" FILLED);

    /* inside a script, "<!--" and "<script" change where it ends */
    check("<script><!-- </script>" SLOT, "<script><!-- </script>" FILLED);
    check("<script><!--<script></script><!--persona:h--></script>" SLOT,
          "<script><!--<script></script><!--persona:h--></script>" FILLED);
    check("<script><!--<script>--></script>" SLOT,
          "<script><!--<script>--></script>" FILLED);
    check("<script><!--><script></script>" SLOT,
          "<script><!--><script></script>" FILLED);
    check("<script><!--<scripty></script>" SLOT,
          "<script><!--<scripty></script>" FILLED);

    /* a slot's default content has a context too */
    check("<!--persona:h--><script>\"<!--/persona:h-->\"</script>"
          "<!--/persona:h-->",
          "[O:h]{<script>\"<!--/persona:h-->\"</script>}[C:h]");
    check("<!--persona:h--><!-- <!--/persona:h-->",
          "[O:h]{<!-- <!--/persona:h-->}[U:h]");
#undef SLOT
#undef FILLED
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_not_markers),
        cmocka_unit_test(test_stray_and_nesting),
        cmocka_unit_test(test_unclosed),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_handler_error),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_html_context),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
