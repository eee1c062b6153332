/*
 * Channel classification: utm parameters, click ids, referrers, user
 * rules, malformed referrers.
 */

#include "unit.h"

#include "persona_channel.h"


static const char *
ch(const char *medium, const char *source, int click, int paid,
    const char *ref, const persona_channel_rule_t *rules, size_t n)
{
    persona_channel_input_t  in;

    memset(&in, 0, sizeof(in));

    in.medium = (const unsigned char *) medium;
    in.medium_len = medium ? strlen(medium) : 0;
    in.source = (const unsigned char *) source;
    in.source_len = source ? strlen(source) : 0;
    in.click_id = click;
    in.paid_click = paid;
    in.referer = (const unsigned char *) ref;
    in.referer_len = ref ? strlen(ref) : 0;
    in.host = (const unsigned char *) "www.shop.example:8080";
    in.host_len = strlen("www.shop.example:8080");

    return persona_channel_name(persona_channel_classify(&in, rules, n));
}


static void
test_utm(void **state)
{
    assert_string_equal(ch("email", NULL, 0, 0, NULL, NULL, 0), "email");
    assert_string_equal(ch("Newsletter", NULL, 0, 0, NULL, NULL, 0), "email");
    assert_string_equal(ch("cpc", "google", 0, 0, NULL, NULL, 0), "paid");
    assert_string_equal(ch("paid_social", NULL, 0, 0, NULL, NULL, 0), "paid");
    assert_string_equal(ch("social", NULL, 0, 0, NULL, NULL, 0), "social");
    assert_string_equal(ch("organic", NULL, 0, 0, NULL, NULL, 0), "search");
    assert_string_equal(ch("referral", NULL, 0, 0, NULL, NULL, 0),
                        "referral");
    assert_string_equal(ch(NULL, "facebook", 0, 0, NULL, NULL, 0), "social");
    assert_string_equal(ch(NULL, "bing", 0, 0, NULL, NULL, 0), "search");
    assert_string_equal(ch("partner", "acme", 0, 0, NULL, NULL, 0),
                        "referral");
    /* utm beats the referrer */
    assert_string_equal(ch("email", NULL, 0, 0, "https://www.google.com/",
                           NULL, 0), "email");
}


static void
test_click_ids(void **state)
{
    assert_string_equal(ch(NULL, NULL, 1, 1, NULL, NULL, 0), "paid");
    assert_string_equal(ch(NULL, NULL, 1, 0, NULL, NULL, 0), "social");
    assert_string_equal(ch(NULL, NULL, 1, 1, "https://www.google.com/",
                           NULL, 0), "paid");
}


static void
test_referrers(void **state)
{
    assert_string_equal(ch(NULL, NULL, 0, 0, NULL, NULL, 0), "direct");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://www.google.com/search",
                           NULL, 0), "search");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://www.google.co.uk/",
                           NULL, 0), "search");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://duckduckgo.com/",
                           NULL, 0), "search");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://l.facebook.com/l.php",
                           NULL, 0), "social");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://t.co/abc", NULL, 0),
                        "social");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://mail.google.com/mail/",
                           NULL, 0), "email");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://blog.example.org/post",
                           NULL, 0), "referral");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://google.example.org/",
                           NULL, 0), "referral");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://notgoogle.com/",
                           NULL, 0), "referral");
    /* the site itself */
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://shop.example/cart",
                           NULL, 0), "direct");
    assert_string_equal(ch(NULL, NULL, 0, 0,
                           "http://www.shop.example:8080/a", NULL, 0),
                        "direct");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://m.shop.example/",
                           NULL, 0), "direct");
}


static void
test_malformed(void **state)
{
    unsigned char  host[64];

    assert_string_equal(ch(NULL, NULL, 0, 0, "www.google.com", NULL, 0),
                        "direct");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://", NULL, 0), "direct");
    assert_string_equal(ch(NULL, NULL, 0, 0, "\xff\xfe://\x01", NULL, 0),
                        "direct");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://[2001:db8::1]:443/",
                           NULL, 0), "referral");

    assert_int_equal(persona_channel_referer_host(
        (const unsigned char *) "https://user:pw@WWW.Bing.com:443/x", 34,
        host, sizeof(host)), 12);
    assert_memory_equal(host, "www.bing.com", 12);

    assert_int_equal(persona_channel_referer_host(
        (const unsigned char *) "https://[2001:db8::1]/", 22, host,
        sizeof(host)), 13);
}


static void
test_rules(void **state)
{
    persona_channel_rule_t  rules[] = {
        { PERSONA_CHANNEL_MATCH_MEDIUM, (const unsigned char *) "crm", 3,
          PERSONA_CHANNEL_EMAIL },
        { PERSONA_CHANNEL_MATCH_SOURCE, (const unsigned char *) "Google",
          6, PERSONA_CHANNEL_PAID },
        { PERSONA_CHANNEL_MATCH_REFERRER,
          (const unsigned char *) "partner.example", 15,
          PERSONA_CHANNEL_PAID },
    };

    assert_string_equal(ch("CRM", NULL, 0, 0, NULL, rules, 3), "email");
    assert_string_equal(ch(NULL, "google", 0, 0, NULL, rules, 3), "paid");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://www.partner.example/",
                           rules, 3), "paid");
    assert_string_equal(ch(NULL, NULL, 0, 0, "https://partner.example.com/",
                           rules, 3), "referral");

    assert_int_equal(persona_channel_parse((const unsigned char *) "email",
                                           5), PERSONA_CHANNEL_EMAIL);
    assert_int_equal(persona_channel_parse((const unsigned char *) "tv", 2),
                     -1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_utm),
        cmocka_unit_test(test_click_ids),
        cmocka_unit_test(test_referrers),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
