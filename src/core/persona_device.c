
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Device classification (rules in persona_device.h) in one pass over the
 * User-Agent, with no regular expressions: two bigram filters skip most
 * bytes two at a time, and only where a token may start are the tokens
 * of that letter compared, so a browser's User-Agent costs a few hundred
 * instructions whatever the length of the token lists.
 */


#include <stdint.h>
#include <string.h>

#include "persona_device.h"


#define PERSONA_DEVICE_BOT_F      0x01
#define PERSONA_DEVICE_TABLET_F   0x02
#define PERSONA_DEVICE_PHONE_F    0x04
#define PERSONA_DEVICE_ANDROID_F  0x08


typedef struct {
    const char  *name;
    size_t       len;
    unsigned     flags;
} persona_device_token_t;


#define persona_device_token(s, f)  { s, sizeof(s) - 1, f }
#define persona_device_end          { NULL, 0, 0 }

#define BOT      PERSONA_DEVICE_BOT_F
#define TABLET   PERSONA_DEVICE_TABLET_F
#define PHONE    PERSONA_DEVICE_PHONE_F
#define ANDROID  PERSONA_DEVICE_ANDROID_F


static unsigned persona_device_scan(const unsigned char *ua, size_t len);


/*
 * Tokens by first letter, lowercase.  Within a bucket a longer token that
 * contains a shorter one comes first.  A token without flags is an
 * exception: it consumes its bytes, so that "cubot" hides its "bot".
 */

static const persona_device_token_t  persona_device_a[] = {
    persona_device_token("android", ANDROID),
    persona_device_token("apache-httpclient", BOT),
    persona_device_token("aiohttp", BOT),
    persona_device_token("axios/", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_b[] = {
    persona_device_token("bot", BOT),
    persona_device_token("blackberry", PHONE),
    persona_device_token("bb10", PHONE),
    persona_device_end
};

static const persona_device_token_t  persona_device_c[] = {
    persona_device_token("cubot", 0),
    persona_device_token("crawler", BOT),
    persona_device_token("curl/", BOT),
    persona_device_token("chatgpt-user", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_f[] = {
    persona_device_token("facebookexternalhit", BOT),
    persona_device_token("feedfetcher", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_g[] = {
    persona_device_token("go-http-client", BOT),
    persona_device_token("google-inspectiontool", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_h[] = {
    persona_device_token("headless", BOT),
    persona_device_token("httpx", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_i[] = {
    persona_device_token("ipad", TABLET),
    persona_device_token("iphone", PHONE),
    persona_device_token("ipod", PHONE),
    persona_device_end
};

static const persona_device_token_t  persona_device_j[] = {
    persona_device_token("java/", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_k[] = {
    persona_device_token("kindle", TABLET),
    persona_device_end
};

static const persona_device_token_t  persona_device_l[] = {
    persona_device_token("lighthouse", BOT),
    persona_device_token("libwww-perl", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_m[] = {
    persona_device_token("mobile", PHONE),
    persona_device_token("mediapartners-google", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_n[] = {
    persona_device_token("nexus 7", TABLET),
    persona_device_token("nexus 9", TABLET),
    persona_device_token("node-fetch", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_o[] = {
    persona_device_token("opera mini", PHONE),
    persona_device_token("opera mobi", PHONE),
    persona_device_token("okhttp", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_p[] = {
    persona_device_token("python-requests", BOT),
    persona_device_token("python-urllib", BOT),
    persona_device_token("preview", BOT),
    persona_device_token("playbook", TABLET),
    persona_device_token("phantomjs", BOT),
    persona_device_end
};

static const persona_device_token_t  persona_device_s[] = {
    persona_device_token("spider", BOT),
    persona_device_token("slurp", BOT),
    persona_device_token("scrapy", BOT),
    persona_device_token("silk/", TABLET),
    persona_device_token("sm-t", TABLET),
    persona_device_token("symbian", PHONE),
    persona_device_end
};

static const persona_device_token_t  persona_device_t[] = {
    persona_device_token("tablet pc", 0),
    persona_device_token("tablet", TABLET),
    persona_device_end
};

static const persona_device_token_t  persona_device_w[] = {
    persona_device_token("wget/", BOT),
    persona_device_token("windows phone", PHONE),
    persona_device_token("webos", PHONE),
    persona_device_end
};


static const persona_device_token_t *const  persona_device_index[26] = {
    persona_device_a, persona_device_b, persona_device_c, NULL,
    NULL, persona_device_f, persona_device_g, persona_device_h,
    persona_device_i, persona_device_j, persona_device_k, persona_device_l,
    persona_device_m, persona_device_n, persona_device_o, persona_device_p,
    NULL, NULL, persona_device_s, persona_device_t,
    NULL, NULL, persona_device_w, NULL,
    NULL, NULL
};

#undef BOT
#undef TABLET
#undef PHONE
#undef ANDROID


/*
 * A bigram filter, so that most bytes cost one table lookup: the entry of
 * the first two characters of every token has bit 1 set, the entry of
 * its second and third characters bit 2.  Where the pair at i + 1 has
 * neither, no token starts at i or i + 1.  The hash folds case with
 * | 0x20 and may collide: a collision only costs a comparison.  Whoever
 * changes a token list regenerates the table (hash of the two bytes as
 * PERSONA_DEVICE_PAIR computes it); t/unit/test_device.c compares the
 * scan with a plain one that tries every token at every byte.
 */

#define PERSONA_DEVICE_PAIR(p)                                               \
    (((((uint32_t) (p)[0] | (uint32_t) (p)[1] << 8) | 0x2020) * 0x9e37      \
      >> 16) & 0x3ff)

#define PERSONA_DEVICE_FIRST   1
#define PERSONA_DEVICE_EITHER  2

static const unsigned char  persona_device_pairs[1024] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 3, 0, 2, 3, 2, 0, 3, 2, 2, 3, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 3, 0, 0, 0, 0, 2, 0, 0, 3, 3, 0, 0, 0,
    0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 2,
    0, 2, 0, 0, 0, 2, 3, 0, 0, 3, 2, 0, 0, 3, 2, 2,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    3, 0, 0, 0, 0, 0, 3, 3, 0, 2, 0, 3, 0, 0, 3, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0,
    0, 0, 0, 0, 3, 0, 3, 0, 3, 0, 0, 0, 3, 0, 0, 3,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0,
    0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 3,
    2, 3, 2, 0, 0, 3, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0,
    2, 0, 0, 0, 3, 0, 3, 0, 0, 0, 0, 0, 0, 3, 0, 3,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
    0, 3, 0, 0, 0, 2, 0, 0, 2, 0, 0, 2, 0, 0, 0, 0,
};


static const char *const  persona_device_names[] = {
    "desktop", "mobile", "tablet", "bot"
};


/* the flags of every token in the User-Agent; stops at the first robot */

static unsigned
persona_device_scan(const unsigned char *ua, size_t len)
{
    size_t                         i, j;
    unsigned                       flags;
    unsigned char                  c;
    const persona_device_token_t  *t;

    flags = 0;

    /* every token is 3 bytes or longer */

    for (i = 0; i + 2 < len; /* void */) {

        if (!(persona_device_pairs[PERSONA_DEVICE_PAIR(&ua[i + 1])]
              & PERSONA_DEVICE_EITHER))
        {
            i += 2;
            continue;
        }

        if (!(persona_device_pairs[PERSONA_DEVICE_PAIR(&ua[i])]
              & PERSONA_DEVICE_FIRST))
        {
            i++;
            continue;
        }

        c = ua[i] | 0x20;

        t = (c >= 'a' && c <= 'z') ? persona_device_index[c - 'a'] : NULL;

        for ( /* void */ ; t != NULL && t->name != NULL; t++) {
            if (t->len > len - i) {
                continue;
            }

            for (j = 1; j < t->len; j++) {
                c = ua[i + j];

                if (c >= 'A' && c <= 'Z') {
                    c |= 0x20;
                }

                if (c != (unsigned char) t->name[j]) {
                    break;
                }
            }

            if (j == t->len) {
                break;
            }
        }

        if (t == NULL || t->name == NULL) {
            i++;
            continue;
        }

        if (t->flags & PERSONA_DEVICE_BOT_F) {
            return PERSONA_DEVICE_BOT_F;
        }

        flags |= t->flags;
        i += t->len;
    }

    return flags;
}


persona_device_e
persona_device_classify(const unsigned char *ua, size_t len, int ch_mobile)
{
    unsigned  flags;

    if (ua == NULL || len == 0) {
        return PERSONA_DEVICE_BOT;
    }

    flags = persona_device_scan(ua, len);

    if (flags & PERSONA_DEVICE_BOT_F) {
        return PERSONA_DEVICE_BOT;
    }

    if ((flags & PERSONA_DEVICE_TABLET_F)
        || (flags & (PERSONA_DEVICE_ANDROID_F | PERSONA_DEVICE_PHONE_F))
           == PERSONA_DEVICE_ANDROID_F)
    {
        return PERSONA_DEVICE_TABLET;
    }

    if (flags & PERSONA_DEVICE_PHONE_F) {
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
    if ((unsigned) d >= sizeof(persona_device_names) / sizeof(char *)) {
        return "desktop";
    }

    return persona_device_names[d];
}
