/*
 * SHA-256 against FIPS 180-4 examples (and the padding boundaries),
 * HMAC-SHA256 against RFC 4231, base64url against RFC 4648 with the
 * non-canonical forms refused, and the signature of docs/identity.md,
 * which other languages reproduce.
 */

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "persona_sign.h"


#define U(s)  ((const unsigned char *) (s))


static void
hex(const unsigned char *p, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
}


/* the digest of data fed in pieces of "step" bytes */

static void
sha(const unsigned char *data, size_t len, size_t step, const char *want)
{
    char              got[65];
    size_t            n;
    unsigned char     out[32];
    persona_sha256_t  s;

    persona_sha256_init(&s);

    while (len) {
        n = len < step ? len : step;
        persona_sha256_update(&s, data, n);
        data += n;
        len -= n;
    }

    persona_sha256_final(&s, out);
    hex(out, 32, got);
    assert_string_equal(got, want);
}


static void
test_sha256(void **state)
{
    size_t          i, step;
    unsigned char  *a;

    static const size_t  steps[] = { 1, 3, 55, 63, 64, 65, 1000 };

    sha(U(""), 0, 1,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha(U("abc"), 3, 1,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha(U("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), 56,
        7,
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);

    /* the padding fits in the last block or needs one more */

    sha(a, 55, 55,
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    sha(a, 56, 56,
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    sha(a, 64, 64,
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        step = steps[i];
        sha(a, 1000000, step * 997,
            "cdc76e5c9914fb9281a1c7e284d73e67"
            "f1809a48a497200e046d39ccc7112cd0");
    }

    free(a);
}


static void
hmac(const unsigned char *key, size_t klen, const unsigned char *data,
    size_t len, const char *want)
{
    char            got[65];
    unsigned char   out[32];
    persona_hmac_t  h;

    persona_hmac_init(&h, key, klen);
    persona_hmac_update(&h, data, len / 2);
    persona_hmac_update(&h, data + len / 2, len - len / 2);
    persona_hmac_final(&h, out);

    hex(out, 32, got);
    assert_memory_equal(got, want, strlen(want));
}


static void
test_hmac_rfc4231(void **state)
{
    size_t         i;
    unsigned char  k[131], d[50];

    memset(k, 0x0b, 20);
    hmac(k, 20, U("Hi There"), 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

    hmac(U("Jefe"), 4, U("what do ya want for nothing?"), 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    memset(k, 0xaa, 20);
    memset(d, 0xdd, 50);
    hmac(k, 20, d, 50,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");

    for (i = 0; i < 25; i++) {
        k[i] = (unsigned char) (i + 1);
    }

    memset(d, 0xcd, 50);
    hmac(k, 25, d, 50,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");

    /* test case 5 publishes the first 128 bits only */

    memset(k, 0x0c, 20);
    hmac(k, 20, U("Test With Truncation"), 20,
         "a3b6167473100ee06e0c796c2955552b");

    memset(k, 0xaa, 131);
    hmac(k, 131, U("Test Using Larger Than Block-Size Key - Hash Key First"),
         54,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

    hmac(k, 131, U("This is a test using a larger than block-size key and a "
                   "larger than block-size data. The key needs to be hashed "
                   "before being used by the HMAC algorithm."), 152,
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}


static void
b64(const char *in, size_t len, const char *want)
{
    long           n;
    unsigned char  out[64], back[64], *end;

    assert_int_equal(persona_base64url_len(len), strlen(want));

    end = persona_base64url_encode(out, U(in), len);
    assert_int_equal(end - out, strlen(want));
    assert_memory_equal(out, want, strlen(want));

    n = persona_base64url_decode(back, out, end - out);
    assert_int_equal(n, len);
    assert_memory_equal(back, in, len);
}


static void
test_base64url(void **state)
{
    unsigned char  out[16];

    b64("", 0, "");
    b64("f", 1, "Zg");
    b64("fo", 2, "Zm8");
    b64("foo", 3, "Zm9v");
    b64("foob", 4, "Zm9vYg");
    b64("fooba", 5, "Zm9vYmE");
    b64("foobar", 6, "Zm9vYmFy");
    b64("\xfb\xff", 2, "-_8");
    b64("\x00\x00\x00", 3, "AAAA");

    /* padding, the other alphabet, impossible lengths, spare bits set */

    assert_int_equal(persona_base64url_decode(out, U("Zg=="), 4), -1);
    assert_int_equal(persona_base64url_decode(out, U("Zm9v="), 5), -1);
    assert_int_equal(persona_base64url_decode(out, U("+/8"), 3), -1);
    assert_int_equal(persona_base64url_decode(out, U("Z"), 1), -1);
    assert_int_equal(persona_base64url_decode(out, U("Zm9vY"), 5), -1);
    assert_int_equal(persona_base64url_decode(out, U("Zh"), 2), -1);
    assert_int_equal(persona_base64url_decode(out, U("Zm9"), 3), -1);
    assert_int_equal(persona_base64url_decode(out, U("Zm9 "), 4), -1);
    assert_int_equal(persona_base64url_decode(out, U("Zm\0v"), 4), -1);
    assert_int_equal(persona_base64url_decode(out, U(""), 0), 0);
}


static void
vector(const char *key, const char *kind, const char *data, const char *want)
{
    unsigned char  sig[PERSONA_SIGN_LEN];

    persona_sign(sig, U(key), strlen(key), kind, U(data), strlen(data));
    assert_memory_equal(sig, want, PERSONA_SIGN_LEN);
}


static void
test_sign(void **state)
{
    unsigned char         sig[PERSONA_SIGN_LEN];
    const unsigned char  *data, *s;
    size_t                dlen;

    static const char  key[] = "0123456789abcdef0123456789abcdef";
    static const char  token[] =
        "alice.0.EUBsnQAW5lTJvkfWHNojy2X_hNqopQNRXXt2KRdbkS4";

    /* the vector of docs/identity.md */

    persona_sign(sig, U(key), 32, "id", U("alice.0"), 7);
    assert_memory_equal(sig, token + 8, PERSONA_SIGN_LEN);

    assert_int_equal(persona_sign_split(U(token), strlen(token), &data,
                                        &dlen, &s), 0);
    assert_int_equal(dlen, 7);
    assert_memory_equal(data, "alice.0", 7);

    assert_true(persona_sign_check(U(key), 32, "id", data, dlen, s,
                                   PERSONA_SIGN_LEN));

    /* another kind, another key, other data, a changed or short sig */

    assert_false(persona_sign_check(U(key), 32, "preview", data, dlen, s,
                                    PERSONA_SIGN_LEN));
    assert_false(persona_sign_check(U("1123456789abcdef0123456789abcdef"),
                                    32, "id", data, dlen, s,
                                    PERSONA_SIGN_LEN));
    assert_false(persona_sign_check(U(key), 32, "id", U("alice.1"), 7, s,
                                    PERSONA_SIGN_LEN));
    assert_false(persona_sign_check(U(key), 32, "id", data, dlen, s,
                                    PERSONA_SIGN_LEN - 1));

    memcpy(sig, s, PERSONA_SIGN_LEN);
    sig[PERSONA_SIGN_LEN - 1] ^= 1;
    assert_false(persona_sign_check(U(key), 32, "id", data, dlen, sig,
                                    PERSONA_SIGN_LEN));

    /* the other vectors of docs/identity.md */

    vector(key, "preview",
           "aG9zdD1zaG9wLmV4YW1wbGUuY29tJmV4cGlyZXM9MTc5ODc2MTYwMCZzZXQ9aGVy"
           "bzp3aW50ZXI",
           "I9CWM5WwNcdEEbMzJt_3MSzqhQoM1l_xhFI_HJHcwcE");
    vector(key, "sticky", "hero:0:winter|checkout:2:express",
           "EaFNO9cWrxn4Z3MuAEPGOr1OE91TvASA5bJYa92j7AI");
    vector(key, "cookie",
           "YWxpY2U.NmYxYzJhOWUwYjdkNGMzZjhhNWUxZDJjM2I0YTU5Njg.1796083200",
           "31HxMolVDxy8h57c-2ep9ai4Uh1dFoopa0Cx2JXMsb0");

    /* split: the signature is the 43 bytes after the last "." */

    assert_int_equal(persona_sign_split(U("a.b"), 3, &data, &dlen, &s), -1);
    assert_int_equal(persona_sign_split(U(token + 1), strlen(token) - 1,
                                        &data, &dlen, &s), 0);
    assert_int_equal(persona_sign_split(U(token), strlen(token) - 1,
                                        &data, &dlen, &s), -1);
    assert_int_equal(persona_sign_split(U(token + 7), strlen(token) - 7,
                                        &data, &dlen, &s), 0);
    assert_int_equal(dlen, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_sign),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
