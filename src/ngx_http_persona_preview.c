
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Previews: a signed, expiring link (?persona_preview=TOKEN, made by
 * scripts/persona-preview) forces variants of experiments, rules of
 * content sets and the clock, for the host it names.  A valid link sets
 * the persona_preview cookie, holding the same token, so that the pages
 * that follow are previews too until the token expires; every request
 * checks the token again.  ?persona_preview=off ends a preview.  A link
 * or cookie that is tampered, expired, for another host or malformed is
 * ignored as if absent.  Preview responses are Cache-Control: no-store
 * and their events say "preview":true.
 */


#include "ngx_http_persona.h"

#include "persona_sign.h"
#include "persona_token.h"


/* the token of the largest payload */
#define NGX_HTTP_PERSONA_PREVIEW_TOKEN_MAX  1500

struct ngx_http_persona_preview_s {
    persona_preview_t           pv;         /* points into "token" */
    ngx_str_t                   token;      /* for the cookie */
    time_t                      max_age;
    unsigned                    link:1;     /* from a link: set the cookie */
};


static ngx_int_t ngx_http_persona_preview_check(ngx_http_request_t *r,
    ngx_str_t *token, ngx_http_persona_preview_t *p);
static ngx_int_t ngx_http_persona_no_store(ngx_http_request_t *r);


static ngx_str_t  ngx_http_persona_preview_name =
    ngx_string("persona_preview");
static ngx_str_t  ngx_http_persona_preview_var =
    ngx_string("cookie_persona_preview");
static ngx_str_t  ngx_http_persona_preview_attrs =
    ngx_string("; Path=/; HttpOnly; SameSite=Lax");


/* persona_preview on | off [max_age=time] */

char *
ngx_http_persona_preview(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t  *value, s;

    if (plcf->preview != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        plcf->preview = 1;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        plcf->preview = 0;

    } else {
        goto invalid;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "max_age=", 8) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        s.len = value[2].len - 8;
        s.data = value[2].data + 8;

        plcf->preview_max_age = ngx_parse_time(&s, 1);

        if (plcf->preview_max_age == (time_t) NGX_ERROR
            || plcf->preview_max_age == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    if (plcf->preview) {
        ngx_http_persona_key_need(cf, "persona_preview");
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\", must be \"on\" or \"off\"",
                       &value[1]);

    return NGX_CONF_ERROR;
}


char *
ngx_http_persona_preview_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    pmcf->preview_index = ngx_http_get_variable_index(cf,
                                            &ngx_http_persona_preview_var);

    return (pmcf->preview_index == NGX_ERROR) ? NGX_CONF_ERROR
                                              : NGX_CONF_OK;
}


/*
 * The request's preview, NULL when it is none; decided once.  A link
 * "off" ends a preview: ctx->preview_off asks the header for the cookie
 * to be expired.
 */

ngx_http_persona_preview_t *
ngx_http_persona_get_preview(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_str_t                      arg;
    ngx_http_variable_value_t     *vv;
    ngx_http_persona_preview_t    *p;
    ngx_http_persona_loc_conf_t   *plcf;
    ngx_http_persona_main_conf_t  *pmcf;

    if (ctx->preview_done) {
        return ctx->preview;
    }

    ctx->preview_done = 1;

    r = r->main;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);

    if (!plcf->preview) {
        return NULL;
    }

    p = ngx_pcalloc(r->pool, sizeof(ngx_http_persona_preview_t));
    if (p == NULL) {
        return NULL;
    }

    p->max_age = plcf->preview_max_age;

    if (ngx_http_arg(r, ngx_http_persona_preview_name.data,
                     ngx_http_persona_preview_name.len, &arg)
        == NGX_OK)
    {
        if (arg.len == 3 && ngx_strncmp(arg.data, "off", 3) == 0) {
            ctx->preview_off = 1;
            return NULL;
        }

        rc = ngx_http_persona_preview_check(r, &arg, p);

        if (rc == NGX_OK) {
            p->link = 1;
            ctx->preview = p;
            return p;
        }

        if (rc == NGX_ERROR) {
            return NULL;
        }

        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: preview link ignored");
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    vv = ngx_http_get_indexed_variable(r, pmcf->preview_index);

    if (vv == NULL || vv->not_found || vv->len == 0) {
        return NULL;
    }

    arg.data = vv->data;
    arg.len = vv->len;

    if (ngx_http_persona_preview_check(r, &arg, p) != NGX_OK) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: preview cookie ignored");
        return NULL;
    }

    ctx->preview = p;

    return p;
}


/*
 * NGX_OK for a token signed for a preview of this host that has not
 * expired, NGX_DECLINED for anything else; a token is never logged.
 */

static ngx_int_t
ngx_http_persona_preview_check(ngx_http_request_t *r, ngx_str_t *token,
    ngx_http_persona_preview_t *p)
{
    long        n;
    u_char     *buf;
    time_t      now;
    ngx_str_t   data;

    if (token->len > NGX_HTTP_PERSONA_PREVIEW_TOKEN_MAX) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: preview token of %uz bytes, too long",
                       token->len);
        return NGX_DECLINED;
    }

    if (ngx_http_persona_unsign(r, "preview", token, &data) != NGX_OK) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: preview token not validly signed");
        return NGX_DECLINED;
    }

    buf = ngx_pnalloc(r->pool, data.len * 3 / 4 + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    n = persona_base64url_decode(buf, data.data, data.len);

    if (n < 0 || persona_preview_parse(buf, n, &p->pv) != 0) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: preview token malformed");
        return NGX_DECLINED;
    }

    /* nginx keeps the host lowercase and without its port */

    if (p->pv.host_len != r->headers_in.server.len
        || ngx_strncmp(p->pv.host, r->headers_in.server.data,
                       p->pv.host_len)
           != 0)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: preview token of another host");
        return NGX_DECLINED;
    }

    now = ngx_time();

    if (p->pv.expires <= now) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: preview token expired");
        return NGX_DECLINED;
    }

    if (p->pv.expires - now < p->max_age) {
        p->max_age = p->pv.expires - now;
    }

    p->token = *token;

    return NGX_OK;
}


/* the value a preview gives to item "name", or NULL */

static persona_preview_set_t *
ngx_http_persona_preview_set(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *name)
{
    ngx_uint_t                   i;
    persona_preview_set_t       *s;
    ngx_http_persona_preview_t  *p;

    p = ngx_http_persona_get_preview(r, ctx);

    if (p == NULL) {
        return NULL;
    }

    s = p->pv.set;

    for (i = 0; i < p->pv.nsets; i++) {
        if (s[i].name_len == name->len
            && ngx_strncmp(s[i].name, name->data, name->len) == 0)
        {
            return &s[i];
        }
    }

    return NULL;
}


/*
 * The variant a preview forces: its index, NGX_HTTP_PERSONA_NONE for
 * "not in the experiment", NGX_HTTP_PERSONA_UNKNOWN when not forced (a
 * variant the configuration no longer has is not forced).
 */

ngx_int_t
ngx_http_persona_preview_variant(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp)
{
    ngx_int_t               k;
    persona_preview_set_t  *s;

    s = ngx_http_persona_preview_set(r, ctx, &exp->name);

    if (s == NULL) {
        return NGX_HTTP_PERSONA_UNKNOWN;
    }

    if (s->value_len == 1 && s->value[0] == '-') {
        return NGX_HTTP_PERSONA_NONE;
    }

    k = ngx_http_persona_find_variant(exp, (u_char *) s->value, s->value_len);

    if (k < 0) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: preview of an unknown variant of \"%V\"",
                       &exp->name);
        return NGX_HTTP_PERSONA_UNKNOWN;
    }

    return k;
}


/*
 * The rule of a content set a preview forces: its index (the rule named
 * by its name=, else by its 1-based position, or "default"),
 * NGX_HTTP_PERSONA_NONE for the page's own default content,
 * NGX_HTTP_PERSONA_UNKNOWN when not forced.
 */

ngx_int_t
ngx_http_persona_preview_rule(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_content_set_t *set)
{
    ngx_uint_t                        i, last;
    persona_preview_set_t            *s;
    ngx_http_persona_content_rule_t  *rule;

    s = ngx_http_persona_preview_set(r, ctx, &set->name);

    if (s == NULL) {
        return NGX_HTTP_PERSONA_UNKNOWN;
    }

    if (s->value_len == 1 && s->value[0] == '-') {
        return NGX_HTTP_PERSONA_NONE;
    }

    rule = set->rules.elts;
    last = set->rules.nelts - 1;

    if (s->value_len == 7 && ngx_strncmp(s->value, "default", 7) == 0) {
        return (rule[last].cond == NULL) ? (ngx_int_t) last
                                         : NGX_HTTP_PERSONA_NONE;
    }

    for (i = 0; i < last + 1; i++) {
        if (rule[i].cond != NULL
            && rule[i].name.len == s->value_len
            && ngx_strncmp(rule[i].name.data, s->value, s->value_len) == 0)
        {
            return i;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "persona: preview of an unknown rule of \"%V\"",
                   &set->name);

    return NGX_HTTP_PERSONA_UNKNOWN;
}


/* the clock a preview sets, or 0 */

time_t
ngx_http_persona_preview_time(ngx_http_request_t *r)
{
    ngx_http_persona_ctx_t      *ctx;
    ngx_http_persona_preview_t  *p;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return 0;
    }

    p = ngx_http_persona_get_preview(r, ctx);

    if (p == NULL || p->pv.time < 0) {
        return 0;
    }

    return (time_t) p->pv.time;
}


/* from the header filter: the preview cookie, and no cache may keep it */

ngx_int_t
ngx_http_persona_preview_header(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx)
{
    ngx_str_t                    empty;
    ngx_http_persona_preview_t  *p;

    p = ngx_http_persona_get_preview(r, ctx);

    if (ctx->preview_off) {
        ctx->preview_off = 0;
        ngx_str_null(&empty);

        return ngx_http_persona_push_cookie(r,
                                            &ngx_http_persona_preview_name,
                                            &empty, 0,
                                            &ngx_http_persona_preview_attrs,
                                            NGX_HTTP_PERSONA_SECURE_AUTO)
               ? NGX_OK : NGX_ERROR;
    }

    if (p == NULL) {
        return NGX_OK;
    }

    if (p->link) {
        p->link = 0;

        if (ngx_http_persona_push_cookie(r, &ngx_http_persona_preview_name,
                                         &p->token, p->max_age,
                                         &ngx_http_persona_preview_attrs,
                                         NGX_HTTP_PERSONA_SECURE_AUTO)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_persona_no_store(r);
}


/*
 * Cache-Control: no-store; whatever other Cache-Control headers say, the
 * module's own, the upstream's, or those expires and add_header add
 * after the module, no-store wins: no cache may keep the response.
 */

static ngx_int_t
ngx_http_persona_no_store(ngx_http_request_t *r)
{
    static ngx_str_t  key = ngx_string("Cache-Control");
    static ngx_str_t  no_store = ngx_string("no-store");

    /* one header: the others said less, or the same again */

    (void) ngx_http_persona_hide_header(r, &key);

    return ngx_http_persona_push_header(r, &key, &no_store) ? NGX_OK
                                                            : NGX_ERROR;
}


/* the index of a variant of exp by name, or NGX_HTTP_PERSONA_NONE */

ngx_int_t
ngx_http_persona_find_variant(ngx_http_persona_experiment_t *exp,
    u_char *name, size_t len)
{
    ngx_uint_t                   i;
    ngx_http_persona_variant_t  *v;

    v = exp->variants.elts;

    for (i = 0; i < exp->variants.nelts; i++) {
        if (v[i].name.len == len && ngx_strncmp(v[i].name.data, name, len)
                                    == 0)
        {
            return i;
        }
    }

    return NGX_HTTP_PERSONA_NONE;
}
