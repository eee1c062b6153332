/*
 * Device classes of real User-Agent strings.
 */

#include "unit.h"

#include "persona_device.h"


typedef struct {
    const char  *ua;
    int          ch;
    const char  *want;
} ua_case_t;


static const ua_case_t  cases[] = {
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", -1, "desktop" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", -1, "desktop" },
    { "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", -1, "desktop" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", -1, "desktop" },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", -1, "desktop" },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", -1, "mobile" },
    { "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36", -1, "mobile" },
    { "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", -1, "mobile" },
    { "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", -1, "mobile" },
    { "Mozilla/5.0 (iPod touch; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1", -1, "mobile" },
    { "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54", -1, "mobile" },
    { "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977", -1, "mobile" },
    { "Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ (KHTML, like Gecko) Version/7.1.0.346 Mobile Safari/534.11+", -1, "mobile" },
    { "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", -1, "tablet" },
    { "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", -1, "tablet" },
    { "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.71 Safari/537.36", -1, "tablet" },
    { "Mozilla/5.0 (Linux; U; en-us; KFAPWI Build/JDQ39) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.13 Safari/535.19 Silk-Accelerated=true", -1, "tablet" },
    { "Mozilla/5.0 (Linux; Android 12; Lenovo TB-J616F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", -1, "tablet" },
    { "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", -1, "bot" },
    { "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", -1, "bot" },
    { "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", -1, "bot" },
    { "curl/7.88.1", -1, "bot" },
    { "python-requests/2.31.0", -1, "bot" },
    { "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", -1, "bot" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", -1, "bot" },
    { "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", -1, "bot" },
    { "Wget/1.21.3", -1, "bot" },
    { "Go-http-client/2.0", -1, "bot" },
    /* reduced User-Agent: the client hint decides */
    { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", 1, "mobile" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", 1, "mobile" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", 0, "desktop" },
    { "", -1, "bot" },
};


static void
test_user_agents(void **state)
{
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char  *got;

        got = persona_device_name(persona_device_classify(
                  (const unsigned char *) cases[i].ua, strlen(cases[i].ua),
                  cases[i].ch));

        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("%s: got %s, want %s", cases[i].ua, got, cases[i].want);
        }
    }

    assert_string_equal(persona_device_name(
                            persona_device_classify(NULL, 0, -1)), "bot");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_user_agents),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
