
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Device class from the User-Agent and the Sec-CH-UA-Mobile client hint.
 * Rules, first match wins (tokens are matched case-insensitively):
 *   1. no User-Agent, or a robot token (bot, crawler, spider, slurp,
 *      curl/, wget/, python-requests, python-urllib, go-http-client,
 *      java/, okhttp, headlesschrome, phantomjs, facebookexternalhit,
 *      lighthouse, pingdom, uptimerobot, preview): bot;
 *   2. a tablet token (ipad, tablet, kindle, silk/, playbook, nexus 7,
 *      nexus 9, sm-t, "android" without "mobile"): tablet;
 *   3. a phone token (mobile, iphone, ipod, android, windows phone,
 *      opera mini, blackberry, iemobile, webos): mobile;
 *   4. Sec-CH-UA-Mobile: ?1 (reduced User-Agent strings): mobile;
 *   5. otherwise: desktop.
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


persona_device_e persona_device_classify(const unsigned char *ua, size_t len,
    int ch_mobile);
const char *persona_device_name(persona_device_e d);


#endif /* PERSONA_DEVICE_H */
