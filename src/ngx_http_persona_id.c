
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Who the visitor is: the first non-empty persona_id variable, else the
 * visitor cookie when it holds an id this module could have issued, else a
 * new random 128-bit id sent back with Set-Cookie.  Without consent (or
 * with Sec-GPC: 1) there is no id at all, and a visitor cookie the
 * request still carries is expired.  Directives persona_id,
 * persona_cookie, persona_consent; variable $persona_id.
 *
 * A "signed" source gives an id only with a valid signature (key.c); a
 * "persist" source makes its id the cookie's, written signed so that the
 * cookie stays a value only this module can have issued.  When the id
 * differs from the cookie's, the cookie's is the previous id that events
 * carry for stitching; a persisted cookie remembers the id it replaced
 * for the rest of the visit.
 *
 * A browser sends every cookie of that name it holds (another path, a
 * parent domain), in an order the module does not choose: the first one
 * that holds a valid id is the visitor's.
 */


#include "ngx_http_persona.h"

#include <sys/random.h>

#include "persona_sign.h"
#include "persona_token.h"


/* a visit, as web analytics count one: 30 minutes */
#define NGX_HTTP_PERSONA_VISIT          1800

/* "." EXPIRES "." SIGNATURE after a signed id */
#define NGX_HTTP_PERSONA_SIGNED_EXTRA   (1 + 12 + 1 + PERSONA_SIGN_LEN)

/* a signed cookie of the longest id and previous id */
#define NGX_HTTP_PERSONA_COOKIE_MAX     800


static ngx_uint_t ngx_http_persona_valid_cookie_id(ngx_str_t *v);
static ngx_int_t ngx_http_persona_cookie_find(ngx_http_request_t *r,
    ngx_http_persona_cookie_t *cookie, ngx_str_t *id, ngx_str_t *previous);
static ngx_int_t ngx_http_persona_cookie_in(ngx_http_request_t *r,
    ngx_str_t *header, ngx_str_t *name, ngx_str_t *id, ngx_str_t *previous);
static ngx_int_t ngx_http_persona_cookie_id(ngx_http_request_t *r,
    ngx_str_t *value, ngx_str_t *id, ngx_str_t *previous);
static ngx_int_t ngx_http_persona_source_id(ngx_http_request_t *r,
    ngx_http_persona_source_t *src, ngx_str_t *value);
static ngx_int_t ngx_http_persona_persist(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *old);
static ngx_int_t ngx_http_persona_cookie_attrs(ngx_conf_t *cf,
    ngx_http_persona_cookie_t *cookie, ngx_str_t *domain, ngx_str_t *path,
    ngx_str_t *samesite);
static ngx_uint_t ngx_http_persona_cookie_token(ngx_str_t *s);
static ngx_uint_t ngx_http_persona_cookie_present(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_cookie_t *cookie);
static ngx_http_persona_cookie_t *ngx_http_persona_default_cookie(
    ngx_conf_t *cf, ngx_str_t *name);
static ngx_int_t ngx_http_persona_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


#define NGX_HTTP_PERSONA_RANDOM_POOL  512


ngx_http_variable_t  ngx_http_persona_id_vars[] = {

    { ngx_string("persona_id"), NULL,
      ngx_http_persona_id_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_persona_gpc = ngx_string("http_sec_gpc");


/*
 * Random bytes are drawn from the kernel in blocks to spare a system call
 * per new visitor.  The pool is only ever filled by a worker, after fork,
 * so no two processes share bytes.
 */
static u_char      ngx_http_persona_random[NGX_HTTP_PERSONA_RANDOM_POOL];
static ngx_uint_t  ngx_http_persona_random_left;


ngx_int_t
ngx_http_persona_identify(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx)
{
    ngx_str_t                     *v, value, cookie, previous;
    ngx_uint_t                     i;
    ngx_http_persona_source_t     *src;
    ngx_http_variable_value_t     *vv;
    ngx_http_persona_loc_conf_t   *plcf;
    ngx_http_persona_main_conf_t  *pmcf;

    if (ctx->id_done) {
        return NGX_OK;
    }

    ctx->id_done = 1;

    r = r->main;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);
    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    /* Global Privacy Control is a refusal whatever the consent says */

    vv = ngx_http_get_indexed_variable(r, pmcf->gpc_index);

    if (vv != NULL && !vv->not_found && vv->len == 1 && vv->data[0] == '1') {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: Sec-GPC, no id");
        goto refused;
    }

    /* the id is not known yet: segments are their conditions alone */

    if (plcf->consent != NULL) {
        switch (ngx_http_persona_cond_eval(r, ctx, plcf->consent, NULL)) {

        case 1:
            break;

        case 0:
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "persona: no consent, no id");
            goto refused;

        default:
            return NGX_ERROR;
        }
    }

    ctx->consent = 1;

    /* the cookie's id first: another source's id replaces it */

    ngx_str_null(&cookie);
    ngx_str_null(&previous);

    if (plcf->cookie != NULL) {

        switch (ngx_http_persona_cookie_find(r, plcf->cookie, &cookie,
                                             &previous))
        {
        case NGX_OK:
            if (cookie.len == 0) {

                /* never reflect a value this module did not issue */

                ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "persona: invalid visitor cookie ignored");
            }

            break;

        case NGX_DECLINED:
            break;

        default:
            return NGX_ERROR;
        }
    }

    src = (plcf->ids != NULL) ? plcf->ids->elts : NULL;

    for (i = 0; src != NULL && i < plcf->ids->nelts; i++) {

        switch (ngx_http_persona_source_id(r, &src[i], &value)) {

        case NGX_OK:
            break;

        case NGX_DECLINED:
            continue;

        default:
            return NGX_ERROR;
        }

        ctx->id = value;

        if (cookie.len == value.len
            && ngx_strncmp(cookie.data, value.data, value.len) == 0)
        {
            ctx->previous_id = previous;
            return NGX_OK;
        }

        /* the cookie's id, if any, is the one this id replaces */

        ctx->previous_id = cookie;

        return src[i].persist ? ngx_http_persona_persist(r, ctx, &cookie)
                              : NGX_OK;
    }

    if (cookie.len) {
        ctx->id = cookie;
        ctx->previous_id = previous;
        return NGX_OK;
    }

    if (plcf->cookie == NULL) {
        return NGX_OK;
    }

    if (ctx->no_new_id) {
        return NGX_OK;
    }

    v = &ctx->id;

    if (ngx_http_persona_random_id(r, v) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->id_new = 1;

    /* now, for ids first needed after the header filter (add_header) */

    return ngx_http_persona_set_cookie(r, ctx);

refused:

    /* consent withdrawn: the browser forgets the id it was given */

    if (plcf->cookie == NULL) {
        return NGX_OK;
    }

    switch (ngx_http_persona_cookie_find(r, plcf->cookie, &value,
                                         &previous))
    {
    case NGX_OK:
        ctx->cookie_expire = 1;
        return ngx_http_persona_set_cookie(r, ctx);

    case NGX_DECLINED:
        return NGX_OK;

    default:
        return NGX_ERROR;
    }
}


/*
 * The id of a persona_id source, NGX_DECLINED when it gives none: empty,
 * too long, or not validly signed when it must be.  Values are never
 * logged: they may be someone else's id.
 */

static ngx_int_t
ngx_http_persona_source_id(ngx_http_request_t *r,
    ngx_http_persona_source_t *src, ngx_str_t *value)
{
    size_t         len, max;
    int64_t        expires;
    ngx_str_t      data;
    const u_char  *id;

    if (ngx_http_complex_value(r, &src->value, value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (value->len == 0) {
        return NGX_DECLINED;
    }

    max = NGX_HTTP_PERSONA_ID_MAX
          + (src->signed_ ? NGX_HTTP_PERSONA_SIGNED_EXTRA : 0);

    if (value->len > max) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "persona: id of %uz bytes from \"%V\" ignored, "
                      "longer than %uz", value->len, &src->value.value,
                      max);
        return NGX_DECLINED;
    }

    if (!src->signed_) {
        return NGX_OK;
    }

    if (ngx_http_persona_unsign(r, "id", value, &data) != NGX_OK
        || persona_token_id(data.data, data.len, &id, &len, &expires) != 0)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: id from \"%V\" is not validly signed, "
                       "ignored", &src->value.value);
        return NGX_DECLINED;
    }

    if (expires && expires <= ngx_time()) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: signed id from \"%V\" has expired, "
                       "ignored", &src->value.value);
        return NGX_DECLINED;
    }

    value->data = (u_char *) id;
    value->len = len;

    return NGX_OK;
}


/*
 * The id of a "persist" source becomes the cookie's: signed, with the
 * id it replaced and when, for the events of the rest of the visit.
 */

static ngx_int_t
ngx_http_persona_persist(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx,
    ngx_str_t *old)
{
    u_char     *p;
    ngx_str_t   data;

    data.data = ngx_pnalloc(r->pool,
                            persona_token_cookie_len(ctx->id.len, old->len));
    if (data.data == NULL) {
        return NGX_ERROR;
    }

    p = persona_token_cookie_write(data.data, ctx->id.data, ctx->id.len,
                                   old->data, old->len, ngx_time());
    data.len = p - data.data;

    if (ngx_http_persona_sign(r, "cookie", &data, &ctx->cookie) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->id_new = 1;

    return ngx_http_persona_set_cookie(r, ctx);
}


/*
 * A cookie value the module issued: a random id, or a persisted id with
 * the previous id while the visit lasts.  NGX_DECLINED for anything else.
 */

static ngx_int_t
ngx_http_persona_cookie_id(ngx_http_request_t *r, ngx_str_t *value,
    ngx_str_t *id, ngx_str_t *previous)
{
    size_t      idlen, plen;
    int64_t     since;
    ngx_str_t   data;

    if (ngx_http_persona_valid_cookie_id(value)) {
        *id = *value;
        return NGX_OK;
    }

    if (value->len > NGX_HTTP_PERSONA_COOKIE_MAX
        || ngx_http_persona_unsign(r, "cookie", value, &data) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    id->data = ngx_pnalloc(r->pool, 2 * PERSONA_TOKEN_ID_MAX);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    previous->data = id->data + PERSONA_TOKEN_ID_MAX;

    if (persona_token_cookie(data.data, data.len, id->data, &idlen,
                             previous->data, &plen, &since)
        != 0)
    {
        id->len = 0;
        return NGX_DECLINED;
    }

    id->len = idlen;
    previous->len = (ngx_time() - since < NGX_HTTP_PERSONA_VISIT) ? plen : 0;

    return NGX_OK;
}


/* 128 random bits in hex: visitor ids, and request ids for events */

ngx_int_t
ngx_http_persona_random_id(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char   *p;
    ssize_t   n;

    if (ngx_http_persona_random_left < 16) {
        n = getrandom(ngx_http_persona_random, NGX_HTTP_PERSONA_RANDOM_POOL,
                      GRND_NONBLOCK);

        if (n != NGX_HTTP_PERSONA_RANDOM_POOL) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                          "persona: getrandom() failed");
            return NGX_ERROR;
        }

        ngx_http_persona_random_left = NGX_HTTP_PERSONA_RANDOM_POOL;
    }

    id->data = ngx_pnalloc(r->pool, NGX_HTTP_PERSONA_RANDOM_ID_LEN);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_persona_random + NGX_HTTP_PERSONA_RANDOM_POOL
        - ngx_http_persona_random_left;

    id->len = ngx_hex_dump(id->data, p, 16) - id->data;

    /* used bytes are wiped so that they can never be handed out twice */

    ngx_memzero(p, 16);
    ngx_http_persona_random_left -= 16;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_persona_valid_cookie_id(ngx_str_t *v)
{
    ngx_uint_t  i;

    if (v->len != NGX_HTTP_PERSONA_RANDOM_ID_LEN) {
        return 0;
    }

    for (i = 0; i < v->len; i++) {
        if (!((v->data[i] >= '0' && v->data[i] <= '9')
              || (v->data[i] >= 'a' && v->data[i] <= 'f')))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * NGX_OK when the request has a non-empty cookie of that name; id (and
 * previous): of the first of them the module issued, empty if none.
 * NGX_DECLINED without such a cookie.
 */

static ngx_int_t
ngx_http_persona_cookie_find(ngx_http_request_t *r,
    ngx_http_persona_cookie_t *cookie, ngx_str_t *id, ngx_str_t *previous)
{
    ngx_int_t         rc, found;
    ngx_table_elt_t  *h;
#if (nginx_version < 1023000)
    ngx_uint_t        i;
    ngx_table_elt_t **hh;
#endif

    ngx_str_null(id);
    ngx_str_null(previous);

    found = NGX_DECLINED;

#if (nginx_version >= 1023000)
    for (h = r->headers_in.cookie; h != NULL; h = h->next) {
#else
    hh = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        h = hh[i];
#endif
        rc = ngx_http_persona_cookie_in(r, &h->value, &cookie->name, id,
                                        previous);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            found = NGX_OK;

            if (id->len) {
                return NGX_OK;
            }
        }
    }

    return found;
}


/*
 * "a=1; persona=ID; b=2": as browsers write it, and as nginx reads it
 * (a comma belongs to the value, which is then not an id)
 */

static ngx_int_t
ngx_http_persona_cookie_in(ngx_http_request_t *r, ngx_str_t *header,
    ngx_str_t *name, ngx_str_t *id, ngx_str_t *previous)
{
    u_char     *p, *last, *end, *v;
    ngx_int_t   found;
    ngx_str_t   value;

    found = NGX_DECLINED;
    p = header->data;
    last = p + header->len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == ';')) {
            p++;
        }

        for (end = p; end < last && *end != ';'; end++) {
            /* void */
        }

        if ((size_t) (end - p) > name->len && p[name->len] == '='
            && ngx_strncmp(p, name->data, name->len) == 0)
        {
            v = p + name->len + 1;

            value.data = v;
            value.len = end - v;

            while (value.len && value.data[value.len - 1] == ' ') {
                value.len--;
            }

            if (value.len) {
                found = NGX_OK;

                switch (ngx_http_persona_cookie_id(r, &value, id,
                                                   previous))
                {
                case NGX_OK:
                    return NGX_OK;

                case NGX_DECLINED:
                    ngx_str_null(id);
                    ngx_str_null(previous);
                    break;

                default:
                    return NGX_ERROR;
                }
            }
        }

        p = end;
    }

    return found;
}


ngx_int_t
ngx_http_persona_set_cookie(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx)
{
    ngx_table_elt_t              *h;
    ngx_http_persona_cookie_t    *cookie;
    ngx_http_persona_loc_conf_t  *plcf;

    static ngx_str_t  none = ngx_string("");

    r = r->main;

    if (!(ctx->id_new || ctx->cookie_expire) || r->header_sent) {
        return NGX_OK;
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);
    cookie = plcf->cookie;

    /*
     * Called again from the header filter: an error page finalized by a
     * filter (412 from the not-modified filter) starts from empty headers,
     * and its response must still carry the cookie.
     */

    if (cookie == NULL
        || (ctx->cookie_sent
            && ngx_http_persona_cookie_present(r, ctx, cookie)))
    {
        return NGX_OK;
    }

    /* the id, signed if persisted; or none, expired at once */

    if (ctx->id_new) {
        h = ngx_http_persona_push_cookie(r, &cookie->name,
                                         ctx->cookie.len ? &ctx->cookie
                                                         : &ctx->id,
                                         cookie->max_age ? cookie->max_age
                                                         : -1,
                                         &cookie->attrs, cookie->secure);

    } else {
        h = ngx_http_persona_push_cookie(r, &cookie->name, &none, 0,
                                         &cookie->attrs, cookie->secure);
    }

    if (h == NULL) {
        return NGX_ERROR;
    }

    ctx->cookie_sent = 1;

    return NGX_OK;
}


/* the module's Set-Cookie among the response headers as they are now */

static ngx_uint_t
ngx_http_persona_cookie_present(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_cookie_t *cookie)
{
    size_t            n;
    ngx_str_t        *v, *id, none;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    /* what set_cookie() wrote: the id, signed if persisted, or none */

    ngx_str_null(&none);

    id = !ctx->id_new ? &none : ctx->cookie.len ? &ctx->cookie : &ctx->id;

    n = cookie->name.len + 1 + id->len;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        v = &h[i].value;

        if (h[i].hash == 0
            || h[i].key.len != sizeof("Set-Cookie") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Set-Cookie",
                               sizeof("Set-Cookie") - 1) != 0
            || v->len <= n || v->data[n] != ';'
            || ngx_strncmp(v->data, cookie->name.data, cookie->name.len)
               != 0
            || v->data[cookie->name.len] != '='
            || (id->len
                && ngx_strncmp(v->data + cookie->name.len + 1, id->data,
                               id->len) != 0))
        {
            continue;
        }

        return 1;
    }
}


/*
 * persona_id $a [signed] [persist] $b ...: the words after a variable
 * say how far its value is trusted.
 */

char *
ngx_http_persona_id(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_persona_source_t         *src;
    ngx_http_compile_complex_value_t   ccv;

    if (plcf->ids != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        plcf->ids = NULL;
        return NGX_CONF_OK;
    }

    plcf->ids = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                 sizeof(ngx_http_persona_source_t));
    if (plcf->ids == NULL) {
        return NGX_CONF_ERROR;
    }

    src = NULL;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "signed") == 0
            || ngx_strcmp(value[i].data, "persist") == 0)
        {
            if (src == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" must follow a variable",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            if (value[i].data[0] == 's') {
                src->signed_ = 1;

            } else {
                src->persist = 1;
            }

            /* both sign: ids, and the cookie of a persisted id */

            ngx_http_persona_key_need(cf, "persona_id");

            continue;
        }

        if (ngx_http_script_variables_count(&value[i]) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "persona_id \"%V\" has no variable, every "
                               "visitor would get the same id", &value[i]);
            return NGX_CONF_ERROR;
        }

        src = ngx_array_push(plcf->ids);
        if (src == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(src, sizeof(ngx_http_persona_source_t));

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = &src->value;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


char *
ngx_http_persona_consent(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t                     *value;
    ngx_http_persona_consent_t    *c;
    ngx_http_persona_main_conf_t  *pmcf;

    if (plcf->consent != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        plcf->consent = NULL;
        return NGX_CONF_OK;
    }

    plcf->consent = ngx_http_persona_cond_compile(cf, &value[1]);
    if (plcf->consent == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the segment check refuses what a consent condition cannot know */

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    c = ngx_array_push(&pmcf->consents);
    if (c == NULL) {
        return NGX_CONF_ERROR;
    }

    c->cond = plcf->consent;
    c->file = cf->conf_file->file.name;
    c->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


char *
ngx_http_persona_cookie(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t                  *value, s, domain, path, samesite;
    ngx_uint_t                  i;
    ngx_http_persona_cookie_t  *cookie;

    if (plcf->cookie != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            return "takes no parameters after \"off\"";
        }

        plcf->cookie = NULL;
        return NGX_CONF_OK;
    }

    cookie = ngx_http_persona_default_cookie(cf, &value[1]);
    if (cookie == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&domain);
    ngx_str_set(&path, "/");
    ngx_str_set(&samesite, "Lax");

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "max_age=", 8) == 0) {
            s.len = value[i].len - 8;
            s.data = value[i].data + 8;

            cookie->max_age = ngx_parse_time(&s, 1);
            if (cookie->max_age == (time_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "domain=", 7) == 0) {
            domain.len = value[i].len - 7;
            domain.data = value[i].data + 7;

            if (domain.len == 0 || !ngx_http_persona_cookie_token(&domain)) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "path=", 5) == 0) {
            path.len = value[i].len - 5;
            path.data = value[i].data + 5;

            if (path.len == 0 || path.data[0] != '/'
                || ngx_strlchr(path.data, path.data + path.len, ';') != NULL
                || !ngx_http_persona_cookie_token(&path))
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "samesite=strict") == 0) {
            ngx_str_set(&samesite, "Strict");
            continue;
        }

        if (ngx_strcmp(value[i].data, "samesite=lax") == 0) {
            ngx_str_set(&samesite, "Lax");
            continue;
        }

        if (ngx_strcmp(value[i].data, "samesite=none") == 0) {
            ngx_str_set(&samesite, "None");
            continue;
        }

        if (ngx_strcmp(value[i].data, "secure=on") == 0) {
            cookie->secure = NGX_HTTP_PERSONA_SECURE_ON;
            continue;
        }

        if (ngx_strcmp(value[i].data, "secure=off") == 0) {
            cookie->secure = NGX_HTTP_PERSONA_SECURE_OFF;
            continue;
        }

        if (ngx_strcmp(value[i].data, "secure=auto") == 0) {
            cookie->secure = NGX_HTTP_PERSONA_SECURE_AUTO;
            continue;
        }

        goto invalid;
    }

    if (ngx_strcmp(samesite.data, "None") == 0
        && cookie->secure != NGX_HTTP_PERSONA_SECURE_ON)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"samesite=none\" requires \"secure=on\", "
                           "browsers drop such cookies otherwise");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_persona_cookie_attrs(cf, cookie, &domain, &path, &samesite)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    plcf->cookie = cookie;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static ngx_http_persona_cookie_t *
ngx_http_persona_default_cookie(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_str_t                   var, path, samesite;
    ngx_http_persona_cookie_t  *cookie;

    if (name->len == 0 || !ngx_http_persona_cookie_token(name)
        || ngx_strlchr(name->data, name->data + name->len, '=') != NULL
        || ngx_strlchr(name->data, name->data + name->len, '/') != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cookie name \"%V\"", name);
        return NULL;
    }

    cookie = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_cookie_t));
    if (cookie == NULL) {
        return NULL;
    }

    cookie->name = *name;
    cookie->max_age = 365 * 86400;
    cookie->secure = NGX_HTTP_PERSONA_SECURE_AUTO;

    /* the sticky assignments go with the visitor cookie: NAME_sticky */

    var.len = sizeof("cookie_") - 1 + name->len + sizeof("_sticky") - 1;
    var.data = ngx_pnalloc(cf->pool, var.len);
    if (var.data == NULL) {
        return NULL;
    }

    ngx_sprintf(var.data, "cookie_%V_sticky", name);

    cookie->sticky_index = ngx_http_get_variable_index(cf, &var);
    if (cookie->sticky_index == NGX_ERROR) {
        return NULL;
    }

    ngx_str_set(&path, "/");
    ngx_str_set(&samesite, "Lax");

    if (ngx_http_persona_cookie_attrs(cf, cookie, NULL, &path, &samesite)
        != NGX_OK)
    {
        return NULL;
    }

    return cookie;
}


/*
 * The attributes after the value and its lifetime are fixed per
 * configuration, so they are built once: "; Domain=..; Path=..; ..."
 */

static ngx_int_t
ngx_http_persona_cookie_attrs(ngx_conf_t *cf,
    ngx_http_persona_cookie_t *cookie, ngx_str_t *domain, ngx_str_t *path,
    ngx_str_t *samesite)
{
    u_char  *p;
    size_t   len;

    len = sizeof("; Path=") - 1 + path->len
          + sizeof("; HttpOnly; SameSite=") - 1 + samesite->len;

    if (domain != NULL && domain->len) {
        len += sizeof("; Domain=") - 1 + domain->len;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    cookie->attrs.data = p;

    if (domain != NULL && domain->len) {
        p = ngx_sprintf(p, "; Domain=%V", domain);
    }

    p = ngx_sprintf(p, "; Path=%V; HttpOnly; SameSite=%V", path, samesite);

    cookie->attrs.len = p - cookie->attrs.data;

    return NGX_OK;
}


/* RFC 6265 token characters: visible ASCII without separators */

static ngx_uint_t
ngx_http_persona_cookie_token(ngx_str_t *s)
{
    u_char      c;
    ngx_uint_t  i;

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (c <= 0x20 || c >= 0x7f) {
            return 0;
        }

        switch (c) {
        case '(': case ')': case '<': case '>': case '@': case ',':
        case ';': case ':': case '\\': case '"': case '[':
        case ']': case '?': case '{': case '}':
            return 0;
        }
    }

    return 1;
}


char *
ngx_http_persona_merge_cookie(ngx_conf_t *cf,
    ngx_http_persona_loc_conf_t *prev, ngx_http_persona_loc_conf_t *conf)
{
    static ngx_str_t  name = ngx_string("persona");

    if (conf->cookie != NGX_CONF_UNSET_PTR) {
        return NGX_CONF_OK;
    }

    if (prev->cookie != NGX_CONF_UNSET_PTR) {
        conf->cookie = prev->cookie;
        return NGX_CONF_OK;
    }

    /* the default, "persona_cookie persona;", built once per level */

    conf->cookie = ngx_http_persona_default_cookie(cf, &name);
    if (conf->cookie == NULL) {
        return NGX_CONF_ERROR;
    }

    prev->cookie = conf->cookie;

    return NGX_CONF_OK;
}


char *
ngx_http_persona_id_init(ngx_conf_t *cf, ngx_http_persona_main_conf_t *pmcf)
{
    pmcf->gpc_index = ngx_http_get_variable_index(cf, &ngx_http_persona_gpc);

    return (pmcf->gpc_index == NGX_ERROR) ? NGX_CONF_ERROR : NGX_CONF_OK;
}


static ngx_int_t
ngx_http_persona_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_persona_ctx_t  *ctx;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->varies = 1;

    if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->id.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_persona_variable_str(v, ctx->id.data, ctx->id.len);

    return NGX_OK;
}
