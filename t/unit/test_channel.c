/*
 * Channel classification: each default rule and their precedence, the
 * site's own host, malformed referrers, and user rules over the defaults.
 */

#include "unit.h"

#include "persona_channel.h"


#define SELF  "www.shop.example:8080"


typedef struct {
    const char                    *medium;
    const char                    *source;
    const char                    *click;     /* "gclid", "msclkid", "fbclid" */
    const char                    *referer;
    const char                    *host;
    const persona_channel_rule_t  *rules;
    size_t                         nrules;
} visit_t;


static const char *
classify(const visit_t *v)
{
    persona_channel_input_t  in;

    memset(&in, 0, sizeof(in));

    if (v->medium != NULL) {
        in.medium = (const unsigned char *) v->medium;
        in.medium_len = strlen(v->medium);
    }

    if (v->source != NULL) {
        in.source = (const unsigned char *) v->source;
        in.source_len = strlen(v->source);
    }

    if (v->click != NULL) {
        in.click_id = 1;
        in.paid_click = strcmp(v->click, "fbclid") != 0;
    }

    if (v->referer != NULL) {
        in.referer = (const unsigned char *) v->referer;
        in.referer_len = strlen(v->referer);
    }

    in.host = (const unsigned char *) (v->host ? v->host : SELF);
    in.host_len = strlen((const char *) in.host);

    return persona_channel_name(persona_channel_classify(&in, v->rules,
                                                         v->nrules));
}


static const char *
medium(const char *m)
{
    visit_t  v = { m, NULL, NULL, NULL, NULL, NULL, 0 };

    return classify(&v);
}


static const char *
source(const char *s)
{
    visit_t  v = { NULL, s, NULL, NULL, NULL, NULL, 0 };

    return classify(&v);
}


static const char *
referer(const char *r)
{
    visit_t  v = { NULL, NULL, NULL, r, NULL, NULL, 0 };

    return classify(&v);
}


static const char *
referer_on(const char *r, const char *host)
{
    visit_t  v = { NULL, NULL, NULL, r, host, NULL, 0 };

    return classify(&v);
}


static void
test_medium(void **state)
{
    size_t  i;

    static const char *const  email[] = {
        "email", "e-mail", "e_mail", "newsletter"
    };
    static const char *const  paid[] = {
        "cpc", "ppc", "paid", "paidsearch", "paid-search", "paid_social",
        "paidsocial", "paid-social", "cpm", "display", "banner"
    };
    static const char *const  social[] = {
        "social", "social-network", "social_network", "social-media",
        "social_media", "sm"
    };

    for (i = 0; i < sizeof(email) / sizeof(email[0]); i++) {
        assert_string_equal(medium(email[i]), "email");
    }

    for (i = 0; i < sizeof(paid) / sizeof(paid[0]); i++) {
        assert_string_equal(medium(paid[i]), "paid");
    }

    for (i = 0; i < sizeof(social) / sizeof(social[0]); i++) {
        assert_string_equal(medium(social[i]), "social");
    }

    assert_string_equal(medium("organic"), "search");
    assert_string_equal(medium("referral"), "referral");

    /* case and the encodings of a query string */
    assert_string_equal(medium("Newsletter"), "email");
    assert_string_equal(medium("EMAIL"), "email");
    assert_string_equal(medium("e%2Dmail"), "email");
    assert_string_equal(medium("e%2dMail"), "email");
    assert_string_equal(medium("Paid+Search"), "paid");
    assert_string_equal(medium("paid%20social"), "paid");
    assert_string_equal(medium("%43PC"), "paid");

    /* exact words only */
    assert_string_equal(medium("emails"), "referral");
    assert_string_equal(medium("cp"), "referral");
    assert_string_equal(medium("cpc%"), "referral");
    assert_string_equal(medium("cpc%2"), "referral");
    assert_string_equal(medium("%zzcpc"), "referral");
    assert_string_equal(medium("affiliate"), "referral");
    assert_string_equal(medium("e mail"), "referral");
}


static void
test_source(void **state)
{
    assert_string_equal(source("facebook"), "social");
    assert_string_equal(source("FB"), "social");
    assert_string_equal(source("ig"), "social");
    assert_string_equal(source("x"), "social");
    assert_string_equal(source("LinkedIn"), "social");
    assert_string_equal(source("google"), "search");
    assert_string_equal(source("Bing"), "search");
    assert_string_equal(source("duckduckgo"), "search");

    /* a host name is looked up like a Referer host */
    assert_string_equal(source("news.google.com"), "search");
    assert_string_equal(source("l.facebook.com"), "social");
    assert_string_equal(source("t.co"), "social");
    assert_string_equal(source("mail.google.com"), "email");
    assert_string_equal(source("news.ycombinator.com"), "referral");

    /* tagged but unknown: referral, not direct */
    assert_string_equal(source("partner"), "referral");
    assert_string_equal(source("googles"), "referral");
    assert_string_equal(source("google.com/ads"), "referral");
}


static void
test_precedence(void **state)
{
    size_t  i;

    static const struct {
        visit_t      visit;
        const char  *want;
    } cases[] = {
        /* utm_medium first */
        { { "email", "google", "gclid", "https://www.google.com/",
            NULL, NULL, 0 }, "email" },
        { { "cpc", "facebook", NULL, NULL, NULL, NULL, 0 }, "paid" },
        { { "social", "google", NULL, NULL, NULL, NULL, 0 }, "social" },
        { { "organic", "facebook", NULL, NULL, NULL, NULL, 0 }, "search" },
        { { "referral", "google", "gclid", NULL, NULL, NULL, 0 },
          "referral" },

        /* then click ids */
        { { NULL, NULL, "gclid", NULL, NULL, NULL, 0 }, "paid" },
        { { NULL, NULL, "msclkid", NULL, NULL, NULL, 0 }, "paid" },
        { { NULL, NULL, "fbclid", NULL, NULL, NULL, 0 }, "social" },
        { { NULL, "facebook", "gclid", NULL, NULL, NULL, 0 }, "paid" },
        { { NULL, "google", "fbclid", NULL, NULL, NULL, 0 }, "social" },
        { { "partner", NULL, "gclid", NULL, NULL, NULL, 0 }, "paid" },
        { { NULL, NULL, "fbclid", "https://www.google.com/", NULL, NULL, 0 },
          "social" },
        { { NULL, NULL, "gclid", "https://shop.example/", NULL, NULL, 0 },
          "paid" },

        /* then utm_source, before an unknown utm_medium */
        { { "partner", "google", NULL, NULL, NULL, NULL, 0 }, "search" },
        { { "partner", "facebook", NULL, NULL, NULL, NULL, 0 }, "social" },
        { { "partner", "acme", NULL, NULL, NULL, NULL, 0 }, "referral" },

        /* any utm parameter beats the Referer */
        { { NULL, "acme", NULL, "https://www.google.com/", NULL, NULL, 0 },
          "referral" },
        { { "partner", NULL, NULL, "https://t.co/x", NULL, NULL, 0 },
          "referral" },
        { { NULL, "google", NULL, "https://t.co/x", NULL, NULL, 0 },
          "search" },
        { { "email", NULL, NULL, "https://shop.example/", NULL, NULL, 0 },
          "email" },

        /* an empty parameter is no parameter */
        { { "", "", NULL, "https://t.co/x", NULL, NULL, 0 }, "social" },
        { { "", "", NULL, NULL, NULL, NULL, 0 }, "direct" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(classify(&cases[i].visit), cases[i].want) != 0) {
            fail_msg("case %zu: got %s, want %s", i,
                     classify(&cases[i].visit), cases[i].want);
        }
    }
}


static void
test_referrers(void **state)
{
    size_t  i;

    static const struct {
        const char  *referer;
        const char  *want;
    } cases[] = {
        { NULL, "direct" },
        { "", "direct" },

        { "https://www.google.com/search?q=x", "search" },
        { "https://google.com/", "search" },
        { "https://www.google.de/", "search" },
        { "https://www.google.co.uk/", "search" },
        { "https://www.google.com.br/", "search" },
        { "https://news.google.com/articles/x", "search" },
        { "https://www.bing.com/search?q=x", "search" },
        { "https://cn.bing.com/", "search" },
        { "https://duckduckgo.com/", "search" },
        { "https://search.yahoo.com/", "search" },
        { "https://search.yahoo.co.jp/", "search" },
        { "https://yandex.ru/search/", "search" },
        { "https://ya.ru/", "search" },
        { "https://www.baidu.com/", "search" },
        { "https://www.ecosia.org/", "search" },
        { "https://www.qwant.com/", "search" },
        { "https://www.startpage.com/", "search" },
        { "https://search.brave.com/", "search" },
        { "android-app://com.google.android.googlequicksearchbox/", "search" },

        { "https://www.facebook.com/", "social" },
        { "https://m.facebook.com/", "social" },
        { "https://l.facebook.com/l.php?u=x", "social" },
        { "https://lm.facebook.com/", "social" },
        { "https://t.co/abc", "social" },
        { "https://twitter.com/", "social" },
        { "https://x.com/someone", "social" },
        { "https://www.instagram.com/", "social" },
        { "https://l.instagram.com/", "social" },
        { "https://www.linkedin.com/feed/", "social" },
        { "https://lnkd.in/abc", "social" },
        { "https://www.pinterest.com/", "social" },
        { "https://www.pinterest.co.uk/", "social" },
        { "https://www.pinterest.fr/", "social" },
        { "https://old.reddit.com/r/x", "social" },
        { "https://www.youtube.com/", "social" },
        { "https://youtu.be/x", "social" },
        { "https://www.tiktok.com/", "social" },
        { "android-app://com.linkedin.android/", "social" },
        { "android-app://com.facebook.katana/", "social" },

        { "https://mail.google.com/mail/u/0/", "email" },
        { "https://outlook.live.com/", "email" },
        { "https://outlook.office.com/", "email" },
        { "https://mail.yahoo.com/", "email" },
        { "https://mail.yandex.ru/", "email" },
        { "android-app://com.google.android.gm/", "email" },

        /* near misses are someone else's site */
        { "https://blog.example.org/post", "referral" },
        { "https://google.example.org/", "referral" },
        { "https://www.google.com.evil.example/", "referral" },
        { "https://google.foo.io/", "referral" },
        { "https://notgoogle.com/", "referral" },
        { "https://mygoogle.com/", "referral" },
        { "https://fox.com/", "referral" },
        { "https://tx.co/", "referral" },
        { "https://facebook.com.evil.example/", "referral" },
        { "https://com.google.android.gm.evil.example/", "referral" },
        { "android-app://com.example.reader/", "referral" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(referer(cases[i].referer), cases[i].want) != 0) {
            fail_msg("%s: got %s, want %s", cases[i].referer,
                     referer(cases[i].referer), cases[i].want);
        }
    }
}


static void
test_same_site(void **state)
{
    /* SELF is www.shop.example:8080: "www." and the port do not count */
    assert_string_equal(referer("https://shop.example/cart"), "direct");
    assert_string_equal(referer("http://www.shop.example:8080/a"), "direct");
    assert_string_equal(referer("https://m.shop.example/"), "direct");
    assert_string_equal(referer("https://SHOP.Example./"), "direct");
    assert_string_equal(referer("https://notshop.example/"), "referral");
    assert_string_equal(referer("https://shop.example.evil.example/"),
                        "referral");
    assert_string_equal(referer("https://example/"), "referral");

    /* the site's own host is matched before the lists */
    assert_string_equal(referer_on("https://mail.google.com/", "google.com"),
                        "direct");
    assert_string_equal(referer_on("https://www.google.com/", "google.com"),
                        "direct");

    assert_string_equal(referer_on("https://shop.example/", "SHOP.EXAMPLE"),
                        "direct");
    assert_string_equal(referer_on("https://www.shop.example/",
                                   "shop.example"), "direct");
    assert_string_equal(referer_on("http://[::1]:8080/", "[::1]:8080"),
                        "direct");
    assert_string_equal(referer_on("http://[::2]:8080/", "[::1]:8080"),
                        "referral");
    assert_string_equal(referer_on("http://10.0.0.1/", "10.0.0.1"),
                        "direct");
    assert_string_equal(referer_on("https://shop.example/", ""), "referral");
    assert_string_equal(referer_on("https://www.google.com/", ""), "search");
}


static void
test_malformed(void **state)
{
    size_t  i;

    /* not an absolute URL with a valid host: as if there were none */

    static const char *const  direct[] = {
        "www.google.com",
        "/search?q=x",
        "//www.google.com/",
        "https://",
        "https:///path",
        "https:www.google.com",
        "https:/www.google.com/",
        "1http://www.google.com/",
        "ht tp://www.google.com/",
        "://www.google.com/",
        "https://user@/",
        "https://:443/",
        "https://...:443/",
        "https://www.google.com:443x/",
        "https://www.google.com:-1/",
        "https://[2001:db8::1/",
        "https://[]/",
        "https://[2001:db8::1]x/",
        "https://www.goo gle.com/",
        "https://www.google.com\"/",
        "https://www.<google>.com/",
        "https://www.google.com\\@evil/",
        "\xff\xfe://\x01",
        "https://\x01\x02/",
        "https://exa\tmple.org/",
    };

    for (i = 0; i < sizeof(direct) / sizeof(direct[0]); i++) {
        if (strcmp(referer(direct[i]), "direct") != 0) {
            fail_msg("%s: got %s, want direct", direct[i],
                     referer(direct[i]));
        }
    }

    /* odd but valid */
    assert_string_equal(referer("HTTPS://WWW.GOOGLE.COM/"), "search");
    assert_string_equal(referer("https://www.google.com./x"), "search");
    assert_string_equal(referer("https://www.google.com:/x"), "search");
    assert_string_equal(referer("https://www.google.com?q=x"), "search");
    assert_string_equal(referer("https://www.google.com#top"), "search");
    assert_string_equal(referer("https://www.google.com"), "search");
    assert_string_equal(referer("https://user:pw@www.google.com:443/"),
                        "search");
    assert_string_equal(referer("https://[2001:db8::1]:443/"), "referral");
    assert_string_equal(referer("https://192.0.2.1/"), "referral");
    assert_string_equal(referer("https://xn--caf-dma.example/"), "referral");
    assert_string_equal(referer("https://caf\xc3\xa9.example/"), "referral");

    /* the userinfo is not the host */
    assert_string_equal(referer("https://www.google.com@evil.example/"),
                        "referral");
    assert_string_equal(referer("https://evil.example@www.google.com/"),
                        "search");
}


static void
test_referer_host(void **state)
{
    size_t          i, n;
    unsigned char   host[300];
    char            big[300];

    static const struct {
        const char  *ref;
        const char  *want;
    } cases[] = {
        { "https://user:pw@WWW.Bing.com:443/x", "www.bing.com" },
        { "https://[2001:DB8::1]:8443/", "[2001:db8::1]" },
        { "https://[fe80::1%25eth0]/", "[fe80::1%25eth0]" },
        { "http://example.org.../", "example.org" },
        { "http://a@b@example.org/", "example.org" },
        { "android-app://com.google.android.gm/", "com.google.android.gm" },
        { "svn+ssh://host.example/", "host.example" },
        { "https://example.org", "example.org" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = persona_channel_referer_host((const unsigned char *) cases[i].ref,
                                         strlen(cases[i].ref), host,
                                         sizeof(host));
        assert_int_equal(n, strlen(cases[i].want));
        assert_memory_equal(host, cases[i].want, n);
    }

    assert_int_equal(persona_channel_referer_host(NULL, 0, host,
                                                  sizeof(host)), 0);

    /* the caller's buffer bounds the host, exactly */

    n = persona_channel_referer_host((const unsigned char *)
                                     "https://example.org/", 20, host, 11);
    assert_int_equal(n, 11);
    assert_memory_equal(host, "example.org", 11);

    n = persona_channel_referer_host((const unsigned char *)
                                     "https://example.org/", 20, host, 10);
    assert_int_equal(n, 0);

    /* a host longer than any DNS name: as if there were no Referer */

    memcpy(big, "https://", 8);
    memset(big + 8, 'a', 280);
    memcpy(big + 288, ".google.com", 12);

    assert_string_equal(referer(big), "direct");
}


static void
test_user_rules(void **state)
{
    size_t  i;

    static const persona_channel_rule_t  rules[] = {
        { PERSONA_CHANNEL_MATCH_MEDIUM, (const unsigned char *) "crm", 3,
          PERSONA_CHANNEL_EMAIL },
        { PERSONA_CHANNEL_MATCH_MEDIUM, (const unsigned char *) "cpc", 3,
          PERSONA_CHANNEL_REFERRAL },
        { PERSONA_CHANNEL_MATCH_SOURCE, (const unsigned char *) "Google",
          6, PERSONA_CHANNEL_PAID },
        { PERSONA_CHANNEL_MATCH_SOURCE, (const unsigned char *) "partner net",
          11, PERSONA_CHANNEL_PAID },
        { PERSONA_CHANNEL_MATCH_REFERRER,
          (const unsigned char *) "Partner.Example", 15,
          PERSONA_CHANNEL_PAID },
        { PERSONA_CHANNEL_MATCH_REFERRER,
          (const unsigned char *) "news.google.com", 15,
          PERSONA_CHANNEL_REFERRAL },
        { PERSONA_CHANNEL_MATCH_REFERRER,
          (const unsigned char *) ".intranet.example.", 18,
          PERSONA_CHANNEL_DIRECT },
        { PERSONA_CHANNEL_MATCH_REFERRER,
          (const unsigned char *) "shop.example", 12,
          PERSONA_CHANNEL_SOCIAL },
        /* never reached: an earlier rule matches first */
        { PERSONA_CHANNEL_MATCH_MEDIUM, (const unsigned char *) "crm", 3,
          PERSONA_CHANNEL_SEARCH },
    };

#define R  rules, sizeof(rules) / sizeof(rules[0])

    static const struct {
        visit_t      visit;
        const char  *want;
    } cases[] = {
        /* medium and source: whole value, any case, decoded */
        { { "CRM", NULL, NULL, NULL, NULL, R }, "email" },
        { { "crm", NULL, NULL, NULL, NULL, R }, "email" },
        { { "%63rm", NULL, NULL, NULL, NULL, R }, "email" },
        { { "crm2", NULL, NULL, NULL, NULL, R }, "referral" },
        { { "cr", NULL, NULL, NULL, NULL, R }, "referral" },
        { { NULL, "google", NULL, NULL, NULL, R }, "paid" },
        { { NULL, "partner+net", NULL, NULL, NULL, R }, "paid" },
        { { NULL, "partner%20NET", NULL, NULL, NULL, R }, "paid" },

        /* rules override the defaults and beat click ids */
        { { "cpc", NULL, "gclid", NULL, NULL, R }, "referral" },
        { { "crm", NULL, "fbclid", NULL, NULL, R }, "email" },
        { { "email", "google", NULL, NULL, NULL, R }, "paid" },

        /* no rule matches: the defaults apply */
        { { "newsletter", NULL, NULL, NULL, NULL, R }, "email" },
        { { NULL, "bing", NULL, NULL, NULL, R }, "search" },
        { { NULL, NULL, NULL, "https://www.google.com/", NULL, R },
          "search" },

        /* referrer: the host or a subdomain, not a longer name */
        { { NULL, NULL, NULL, "https://partner.example/", NULL, R },
          "paid" },
        { { NULL, NULL, NULL, "https://www.PARTNER.example:8443/", NULL, R },
          "paid" },
        { { NULL, NULL, NULL, "https://partner.example.com/", NULL, R },
          "referral" },
        { { NULL, NULL, NULL, "https://mypartner.example/", NULL, R },
          "referral" },
        { { NULL, NULL, NULL, "https://news.google.com/", NULL, R },
          "referral" },
        { { NULL, NULL, NULL, "https://www.google.com/", NULL, R },
          "search" },
        { { NULL, NULL, NULL, "https://wiki.intranet.example/", NULL, R },
          "direct" },
        { { NULL, NULL, NULL, "https://intranet.example/", NULL, R },
          "direct" },

        /* a referrer rule is checked before the site's own host */
        { { NULL, NULL, NULL, "https://shop.example/", NULL, R }, "social" },

        /* and needs a valid Referer */
        { { NULL, NULL, NULL, "partner.example", NULL, R }, "direct" },
        { { NULL, NULL, NULL, NULL, NULL, R }, "direct" },
    };

#undef R

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(classify(&cases[i].visit), cases[i].want) != 0) {
            fail_msg("case %zu: got %s, want %s", i,
                     classify(&cases[i].visit), cases[i].want);
        }
    }
}


static void
test_names(void **state)
{
    int          c;
    const char  *name;

    for (c = 0; c < PERSONA_CHANNEL_N; c++) {
        name = persona_channel_name((persona_channel_e) c);
        assert_int_equal(persona_channel_parse((const unsigned char *) name,
                                               strlen(name)), c);
    }

    assert_string_equal(persona_channel_name(PERSONA_CHANNEL_EMAIL), "email");
    assert_string_equal(persona_channel_name(PERSONA_CHANNEL_REFERRAL),
                        "referral");
    assert_string_equal(persona_channel_name(PERSONA_CHANNEL_N), "direct");

    assert_int_equal(persona_channel_parse((const unsigned char *) "Email",
                                           5), PERSONA_CHANNEL_EMAIL);
    assert_int_equal(persona_channel_parse((const unsigned char *) "emails",
                                           6), -1);
    assert_int_equal(persona_channel_parse((const unsigned char *) "emai",
                                           4), -1);
    assert_int_equal(persona_channel_parse((const unsigned char *) "tv", 2),
                     -1);
    assert_int_equal(persona_channel_parse((const unsigned char *) "", 0),
                     -1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_medium),
        cmocka_unit_test(test_source),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_referrers),
        cmocka_unit_test(test_same_site),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_referer_host),
        cmocka_unit_test(test_user_rules),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
