/*
 * Device classes of real User-Agent strings, the client hint, and the
 * edges of token matching.
 */

#include "unit.h"

#include <stdlib.h>

#include "persona_device.h"


typedef struct {
    const char  *ua;
    int          ch;
    const char  *want;
} ua_case_t;


static const ua_case_t  cases[] = {

    /* desktop browsers */
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", -1, "desktop" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
      -1, "desktop" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
      "Firefox/133.0", -1, "desktop" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) Version/18.1 Safari/605.1.15", -1, "desktop" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", -1, "desktop" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) "
      "Gecko/20100101 Firefox/133.0", -1, "desktop" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/131.0.0.0 Safari/537.36", -1, "desktop" },
    { "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 "
      "Firefox/133.0", -1, "desktop" },
    { "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/131.0.0.0 Safari/537.36", -1, "desktop" },
    /* a Windows laptop with a touch screen, as old Internet Explorer saw it */
    { "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; "
      "Trident/6.0; SLCC2; .NET CLR 2.0.50727; Tablet PC 2.0)", -1,
      "desktop" },

    /* phones */
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
      "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 "
      "Safari/604.1", -1, "mobile" },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
      "AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 "
      "Mobile/15E148 Safari/604.1", -1, "mobile" },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) "
      "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
      "[FBAN/FBIOS;FBAV/490.0.0.55.107;FBBV/659012345;FBDV/iPhone15,2]",
      -1, "mobile" },
    { "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36", -1,
      "mobile" },
    { "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S928B) "
      "AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
      "Chrome/122.0.0.0 Mobile Safari/537.36", -1, "mobile" },
    { "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 "
      "Firefox/133.0", -1, "mobile" },
    { "Mozilla/5.0 (Linux; Android 13; 2201117TG Build/TKQ1.221114.001; wv) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
      "Chrome/131.0.6778.39 Mobile Safari/537.36 Instagram 356.0.0.41.101 "
      "Android", -1, "mobile" },
    { "Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
      -1, "mobile" },
    { "Mozilla/5.0 (iPod touch; CPU iPhone OS 15_8 like Mac OS X) "
      "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 "
      "Safari/604.1", -1, "mobile" },
    { "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) "
      "Presto/2.12.423 Version/12.16", -1, "mobile" },
    { "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile "
      "Safari/537.36 Edge/15.14977", -1, "mobile" },
    { "Mozilla/5.0 (compatible; MSIE 9.0; Windows Phone OS 7.5; "
      "Trident/5.0; IEMobile/9.0; NOKIA; Lumia 800)", -1, "mobile" },
    { "Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ "
      "(KHTML, like Gecko) Version/7.1.0.346 Mobile Safari/534.11+", -1,
      "mobile" },

    /* tablets */
    { "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", -1,
      "tablet" },
    { "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/131.0.0.0 Safari/537.36", -1, "tablet" },
    { "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-T733) AppleWebKit/537.36 "
      "(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 "
      "Safari/537.36", -1, "tablet" },
    { "Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 "
      "Firefox/133.0", -1, "tablet" },
    { "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Silk/130.4.1 like Chrome/130.0.6723.102 Safari/537.36",
      -1, "tablet" },
    { "Mozilla/5.0 (X11; U; Linux armv7l like Android; en-us) "
      "AppleWebKit/531.2+ (KHTML, like Gecko) Version/5.0 Safari/531.2+ "
      "Kindle/3.0+", -1, "tablet" },
    { "Mozilla/5.0 (Linux; Android 12; Lenovo TB-J616F) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", -1, "tablet" },
    /* an iPad asking for desktop sites cannot be told from a Mac */
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) Version/18.1 Safari/605.1.15", -1, "desktop" },

    /* robots and tools */
    { "Mozilla/5.0 (compatible; Googlebot/2.1; "
      "+http://www.google.com/bot.html)", -1, "bot" },
    { "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile "
      "Safari/537.36 (compatible; Googlebot/2.1; "
      "+http://www.google.com/bot.html)", -1, "bot" },
    { "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; "
      "bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 "
      "Safari/537.36", -1, "bot" },
    { "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
      -1, "bot" },
    { "Mozilla/5.0 (compatible; Baiduspider/2.0; "
      "+http://www.baidu.com/search/spider.html)", -1, "bot" },
    { "Mozilla/5.0 (compatible; Yahoo! Slurp; "
      "http://help.yahoo.com/help/us/ysearch/slurp)", -1, "bot" },
    { "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; "
      "GPTBot/1.2; +https://openai.com/gptbot)", -1, "bot" },
    { "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; "
      "ChatGPT-User/1.0; +https://openai.com/bot", -1, "bot" },
    { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 "
      "(compatible; Google-InspectionTool/1.0)", -1, "bot" },
    { "facebookexternalhit/1.1 "
      "(+http://www.facebook.com/externalhit_uatext.php)", -1, "bot" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
      "Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", -1, "bot" },
    { "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) "
      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
      "Safari/537.36 Chrome-Lighthouse", -1, "bot" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
      "like Gecko) Chrome/131.0.0.0 Safari/537.36 Google Web Preview", -1,
      "bot" },
    { "curl/8.5.0", -1, "bot" },
    { "Wget/1.21.4", -1, "bot" },
    { "python-requests/2.32.3", -1, "bot" },
    { "Python-urllib/3.12", -1, "bot" },
    { "Go-http-client/2.0", -1, "bot" },
    { "okhttp/4.12.0", -1, "bot" },
    { "Java/17.0.9", -1, "bot" },
    { "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", -1, "bot" },
    { "Scrapy/2.11.2 (+https://scrapy.org)", -1, "bot" },

    /* reduced User-Agent strings: the client hint decides */
    { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 1, "mobile" },
    { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 0, "mobile" },
    { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/131.0.0.0 Safari/537.36", 0, "tablet" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/131.0.0.0 Safari/537.36", 1, "mobile" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/131.0.0.0 Safari/537.36", 0, "desktop" },
    { "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 1,
      "tablet" },
    { "curl/8.5.0", 1, "bot" },
};


static const char *
classify(const char *ua, size_t len, int ch)
{
    return persona_device_name(persona_device_classify(
                                   (const unsigned char *) ua, len, ch));
}


static void
test_user_agents(void **state)
{
    size_t       i;
    const char  *got;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got = classify(cases[i].ua, strlen(cases[i].ua), cases[i].ch);

        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("%s: got %s, want %s", cases[i].ua, got, cases[i].want);
        }
    }
}


static void
test_tokens(void **state)
{
    /* no User-Agent at all, or an empty one */
    assert_string_equal(classify(NULL, 0, -1), "bot");
    assert_string_equal(classify("", 0, 1), "bot");

    /* case does not matter */
    assert_string_equal(classify("X (IPHONE)", 10, -1), "mobile");
    assert_string_equal(classify("x (ipad)", 8, -1), "tablet");
    assert_string_equal(classify("SOMEBOT", 7, -1), "bot");

    /* a token at the very end, or cut short by the end */
    assert_string_equal(classify("Mozilla/5.0 mobile", 18, -1), "mobile");
    assert_string_equal(classify("Mozilla/5.0 mobil", 17, -1), "desktop");
    assert_string_equal(classify("Mozilla/5.0 mobile", 17, -1), "desktop");
    assert_string_equal(classify("xbo", 3, -1), "desktop");

    /* android alone is a tablet; with any phone token a phone */
    assert_string_equal(classify("(Linux; Android 14)", 19, -1), "tablet");
    assert_string_equal(classify("(Linux; Android 14) Mobile", 26, -1),
                        "mobile");

    /* exceptions hide only their own bytes */
    assert_string_equal(classify("cubot", 5, -1), "desktop");
    assert_string_equal(classify("cubot robot", 11, -1), "bot");
    assert_string_equal(classify("Tablet PC 2.0; Tablet", 21, -1), "tablet");

    /* bytes that are not ASCII letters; 0xc9 is not an 'I' */
    assert_string_equal(classify("\xff\xfe" "bot\x80", 6, -1), "bot");
    assert_string_equal(classify("\xc9PHONE", 6, -1), "desktop");
}


static void
test_names(void **state)
{
    assert_string_equal(persona_device_name(PERSONA_DEVICE_DESKTOP),
                        "desktop");
    assert_string_equal(persona_device_name(PERSONA_DEVICE_MOBILE), "mobile");
    assert_string_equal(persona_device_name(PERSONA_DEVICE_TABLET), "tablet");
    assert_string_equal(persona_device_name(PERSONA_DEVICE_BOT), "bot");
    assert_string_equal(persona_device_name((persona_device_e) 42),
                        "desktop");
}



/*
 * The filtered scan against a plain one: the same tokens, tried at every
 * byte in the order of the header's rules, on User-Agents made of random
 * text with tokens dropped in at random places and in random case.
 */

#define R_BOT  1
#define R_TAB  2
#define R_PHO  4
#define R_AND  8

typedef struct {
    const char  *name;
    unsigned     flags;
} ref_token_t;

static const ref_token_t  ref_tokens[] = {
    { "android", R_AND },
    { "apache-httpclient", R_BOT },
    { "aiohttp", R_BOT },
    { "axios/", R_BOT },
    { "bot", R_BOT },
    { "blackberry", R_PHO },
    { "bb10", R_PHO },
    { "cubot", 0 },
    { "crawler", R_BOT },
    { "curl/", R_BOT },
    { "chatgpt-user", R_BOT },
    { "facebookexternalhit", R_BOT },
    { "feedfetcher", R_BOT },
    { "go-http-client", R_BOT },
    { "google-inspectiontool", R_BOT },
    { "headless", R_BOT },
    { "httpx", R_BOT },
    { "ipad", R_TAB },
    { "iphone", R_PHO },
    { "ipod", R_PHO },
    { "java/", R_BOT },
    { "kindle", R_TAB },
    { "lighthouse", R_BOT },
    { "libwww-perl", R_BOT },
    { "mobile", R_PHO },
    { "mediapartners-google", R_BOT },
    { "nexus 7", R_TAB },
    { "nexus 9", R_TAB },
    { "node-fetch", R_BOT },
    { "opera mini", R_PHO },
    { "opera mobi", R_PHO },
    { "okhttp", R_BOT },
    { "python-requests", R_BOT },
    { "python-urllib", R_BOT },
    { "preview", R_BOT },
    { "playbook", R_TAB },
    { "phantomjs", R_BOT },
    { "spider", R_BOT },
    { "slurp", R_BOT },
    { "scrapy", R_BOT },
    { "silk/", R_TAB },
    { "sm-t", R_TAB },
    { "symbian", R_PHO },
    { "tablet pc", 0 },
    { "tablet", R_TAB },
    { "wget/", R_BOT },
    { "windows phone", R_PHO },
    { "webos", R_PHO }
};


static persona_device_e
ref_classify(const unsigned char *ua, size_t len, int ch)
{
    size_t    i, j, k, n;
    unsigned  flags;
    int       c;

    if (len == 0) {
        return PERSONA_DEVICE_BOT;
    }

    flags = 0;

    for (i = 0; i < len; i++) {
        for (k = 0; k < sizeof(ref_tokens) / sizeof(ref_tokens[0]); k++) {
            n = strlen(ref_tokens[k].name);

            if ((ref_tokens[k].name[0] != (ua[i] | 0x20)
                 || !((ua[i] | 0x20) >= 'a' && (ua[i] | 0x20) <= 'z'))
                || n > len - i)
            {
                continue;
            }

            for (j = 0; j < n; j++) {
                c = ua[i + j];
                if (c >= 'A' && c <= 'Z') {
                    c |= 0x20;
                }
                if (c != ref_tokens[k].name[j]) {
                    break;
                }
            }

            if (j == n) {
                break;
            }
        }

        if (k == sizeof(ref_tokens) / sizeof(ref_tokens[0])) {
            continue;
        }

        if (ref_tokens[k].flags & R_BOT) {
            return PERSONA_DEVICE_BOT;
        }

        flags |= ref_tokens[k].flags;
        i += n - 1;
    }

    if ((flags & R_TAB) || (flags & (R_AND | R_PHO)) == R_AND) {
        return PERSONA_DEVICE_TABLET;
    }

    if ((flags & R_PHO) || ch == 1) {
        return PERSONA_DEVICE_MOBILE;
    }

    return PERSONA_DEVICE_DESKTOP;
}


static void
test_against_reference(void **state)
{
    int            round, ch;
    size_t         len, k, n, at, i;
    const char    *t;
    unsigned char  ua[256];

    static const char  text[] = " ;/()-._0123456789abcdefghijklmnop"
                                "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "\x80\xff@[`{";

    srand(12345);

    for (round = 0; round < 200000; round++) {
        len = rand() % 160;

        for (i = 0; i < len; i++) {
            ua[i] = text[rand() % (sizeof(text) - 1)];
        }

        /* tokens, fully inside, in random case */
        for (k = rand() % 3; k > 0; k--) {
            t = ref_tokens[rand() % (sizeof(ref_tokens)
                                     / sizeof(ref_tokens[0]))].name;
            n = strlen(t);

            if (n > len) {
                continue;
            }

            at = rand() % (len - n + 1);

            for (i = 0; i < n; i++) {
                ua[at + i] = (rand() & 1 && t[i] >= 'a' && t[i] <= 'z')
                             ? t[i] - 32 : t[i];
            }
        }

        ch = rand() % 3 - 1;

        if (persona_device_classify(ua, len, ch)
            != ref_classify(ua, len, ch))
        {
            fail_msg("round %d: \"%.*s\"", round, (int) len, ua);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_user_agents),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_against_reference),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
