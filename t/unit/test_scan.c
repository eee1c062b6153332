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


/*
 * The fast paths (tags read sixteen bytes at a time, the rest of the
 * stream after its last marker left unscanned) against the scanner fed
 * one byte at a time, which takes none of them: random HTML made of the
 * pieces that change the context, in random chunks, the chunks after
 * the last marker flagged FINAL as the body filter flags them.
 */

static void
feed_random(const unsigned char *in, size_t n, unsigned *seed, rec_t *r)
{
    size_t                 i, l, k, off[256];
    persona_scan_t         s;

    persona_scan_init(&s);

    for (k = 0, i = 0; i < n && k < 255; i += l, k++) {
        *seed = *seed * 1103515245 + 12345;
        l = 1 + (*seed >> 16) % 97;
        off[k] = i;
    }

    off[k] = n;

    /* the first chunk after which no marker may start */
    for (l = k; l > 0 && persona_scan_horizon(in + off[l - 1], in + off[l])
                         == NULL; l--) { /* void */ }

    l = (l == 0) ? 0 : l - 1;

    for (i = 0; i < k; i++) {
        assert_int_equal(persona_scan_feed(&s, in + off[i],
                                           off[i + 1] - off[i],
                                           (i + 1 == k ? PERSONA_SCAN_LAST : 0)
                                           | (i == l ? PERSONA_SCAN_FINAL : 0),
                                           rec, r), 0);
    }

    if (k == 0) {
        persona_scan_feed(&s, NULL, 0, PERSONA_SCAN_LAST, rec, r);
    }
}


static void
test_fast_paths(void **state)
{
    int              t;
    size_t           n, i, k;
    unsigned         seed;
    unsigned char    in[2048];
    rec_t            one, all, some;
    persona_scan_t   s;

    static const char  *piece[] = {
        "<", ">", "\"", "'", "=", " ", "/", "\n", "\t", "\x01", "!", "-",
        "a", "x", "div", "class", "S", "--", "<!--", "-->", "]]>", "</",
        "<!--persona:x-->", "<!--/persona:x-->", "<!--persona:y-->",
        "<!--/persona:y-->", "<!--pers", "<script>", "</script>",
        "<style>", "</style>", "<title>", "</TITLE>", "<textarea>",
        "<plaintext>", "<![CDATA[", "<!DOCTYPE html>", "<?x>",
        "<!--<script>", "<a href=\"", "\">", "='", "=\"", " data-x=1 ",
        "<p class=\"a\">", "<img src=\"x\" alt='y'>", "<input",
        "<a b=\"c\" d='e' f=g h>", "xxxxxxxxxxxxxxxxxxxx", "<span ",
        "<div class=\"c\" title=\"<!--persona:x-->\">"
    };

    seed = 7;

    for (t = 0; t < 3000; t++) {
        seed = seed * 1103515245 + 12345;
        k = (seed >> 16) % 120;

        for (n = 0; k-- && n < sizeof(in) - 64; n += strlen(piece[i])) {
            seed = seed * 1103515245 + 12345;
            i = (seed >> 16) % (sizeof(piece) / sizeof(piece[0]));
            memcpy(in + n, piece[i], strlen(piece[i]));
        }

        memset(&one, 0, sizeof(rec_t));
        memset(&all, 0, sizeof(rec_t));
        memset(&some, 0, sizeof(rec_t));

        persona_scan_init(&s);

        for (i = 0; i < n; i++) {
            persona_scan_feed(&s, in + i, 1, i + 1 == n, rec, &one);
        }

        if (n == 0) {
            persona_scan_feed(&s, NULL, 0, PERSONA_SCAN_LAST, rec, &one);
        }

        persona_scan_init(&s);
        persona_scan_feed(&s, in, n, PERSONA_SCAN_LAST, rec, &all);

        feed_random(in, n, &seed, &some);

        assert_int_equal(all.n, one.n);
        assert_memory_equal(all.out, one.out, one.n);
        assert_int_equal(some.n, one.n);
        assert_memory_equal(some.out, one.out, one.n);
    }
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
        cmocka_unit_test(test_fast_paths),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
