
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Device class from the User-Agent and the Sec-CH-UA-Mobile client hint.
 * Tokens are matched case-insensitively anywhere in the User-Agent; the
 * rules are tried in order and the first that matches wins:
 *
 *   1. no User-Agent, or an empty one: bot;
 *   2. a robot or tool token: bot, crawler, spider, slurp, preview,
 *      headless (HeadlessChrome), lighthouse, facebookexternalhit,
 *      feedfetcher, mediapartners-google, google-inspectiontool,
 *      chatgpt-user, curl/, wget/, python-requests, python-urllib,
 *      aiohttp, httpx, scrapy, go-http-client, java/, okhttp,
 *      apache-httpclient, node-fetch, axios/, libwww-perl, phantomjs:
 *      bot ("bot" inside "Cubot", a phone brand, does not count);
 *   3. a tablet token: ipad, tablet, kindle, silk/, playbook, nexus 7,
 *      nexus 9, sm-t (Galaxy Tab); or android with none of the phone
 *      tokens of rule 4 (Android phones say "Mobile", tablets do not):
 *      tablet ("Tablet PC" of Windows laptops does not count);
 *   4. a phone token: mobile (also in IEMobile), iphone, ipod,
 *      windows phone, opera mini, opera mobi, blackberry, bb10, webos,
 *      symbian: mobile;
 *   5. Sec-CH-UA-Mobile "?1", for browsers that send a reduced,
 *      desktop-looking User-Agent: mobile;
 *   6. anything else: desktop.  An iPad asking for desktop sites sends
 *      the User-Agent of a Mac, and is a desktop here: nothing in the
 *      request tells them apart.
 */


#ifndef PERSONA_DEVICE_H
#define PERSONA_DEVICE_H


#include <stddef.h>


typedef enum {
    PERSONA_DEVICE_DESKTOP = 0,
    PERSONA_DEVICE_MOBILE,
    PERSONA_DEVICE_TABLET,
    PERSONA_DEVICE_BOT
} persona_device_e;


/* ch_mobile: -1 header absent, 0 for "?0", 1 for "?1" (Sec-CH-UA-Mobile) */
persona_device_e persona_device_classify(const unsigned char *ua, size_t len,
    int ch_mobile);

/* "desktop", "mobile", "tablet", "bot" */
const char *persona_device_name(persona_device_e d);


#endif /* PERSONA_DEVICE_H */
