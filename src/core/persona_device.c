
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Device classification (rules in persona_device.h): a few
 * case-insensitive substring searches, no regular expressions.
 */


#include <string.h>

#include "persona_device.h"


static int persona_device_has(const unsigned char *s, size_t len,
    const char *token);
static int persona_device_any(const unsigned char *s, size_t len,
    const char *const *tokens);


static const char *const  persona_device_bots[] = {
    "bot", "crawler", "spider", "slurp", "curl/", "wget/",
    "python-requests", "python-urllib", "go-http-client", "java/", "okhttp",
    "headlesschrome", "phantomjs", "facebookexternalhit", "lighthouse",
    "pingdom", "uptimerobot", "preview", NULL
};

static const char *const  persona_device_tablets[] = {
    "ipad", "tablet", "kindle", "silk/", "playbook", "nexus 7", "nexus 9",
    "sm-t", NULL
};

static const char *const  persona_device_phones[] = {
    "mobile", "iphone", "ipod", "android", "windows phone", "opera mini",
    "blackberry", "iemobile", "webos", NULL
};


static int
persona_device_has(const unsigned char *s, size_t len, const char *token)
{
    size_t         i, j, n;
    unsigned char  c, first;

    n = strlen(token);

    if (n > len) {
        return 0;
    }

    first = (unsigned char) token[0];

    for (i = 0; i + n <= len; i++) {
        c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != first) {
            continue;
        }

        for (j = 1; j < n; j++) {
            c = s[i + j];

            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;
            }

            if (c != (unsigned char) token[j]) {
                break;
            }
        }

        if (j == n) {
            return 1;
        }
    }

    return 0;
}


static int
persona_device_any(const unsigned char *s, size_t len,
    const char *const *tokens)
{
    for ( /* void */ ; *tokens != NULL; tokens++) {
        if (persona_device_has(s, len, *tokens)) {
            return 1;
        }
    }

    return 0;
}


persona_device_e
persona_device_classify(const unsigned char *ua, size_t len, int ch_mobile)
{
    if (ua == NULL || len == 0
        || persona_device_any(ua, len, persona_device_bots))
    {
        return PERSONA_DEVICE_BOT;
    }

    if (persona_device_any(ua, len, persona_device_tablets)
        || (persona_device_has(ua, len, "android")
            && !persona_device_has(ua, len, "mobile")))
    {
        return PERSONA_DEVICE_TABLET;
    }

    if (persona_device_any(ua, len, persona_device_phones)) {
        return PERSONA_DEVICE_MOBILE;
    }

    if (ch_mobile == 1) {
        return PERSONA_DEVICE_MOBILE;
    }

    return PERSONA_DEVICE_DESKTOP;
}


const char *
persona_device_name(persona_device_e d)
{
    static const char *const  names[] = {
        "desktop", "mobile", "tablet", "bot"
    };

    return names[d];
}
