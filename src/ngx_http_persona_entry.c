
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The channel of entry: the channel of the visit that brought the
 * visitor, kept in a small cookie of its own (persona_entry_cookie) so
 * that a conversion, whose beacon comes from the site itself and so
 * looks "direct", carries the channel the visit came by.  A request that
 * arrives by another channel than the one kept (an email link, a search,
 * an ad) starts a new visit and replaces it; navigation within the site
 * and typed addresses ("direct") keep it.  By default the cookie lasts
 * until the browser is closed; max_age= keeps it longer.
 *
 * The cookie is only ever set for a visitor the module already knows in
 * this response, with consent: it never creates a visitor by itself.
 * Its attributes (Domain, Path, SameSite, Secure) are the visitor
 * cookie's.
 */


#include "ngx_http_persona.h"

#include "persona_channel.h"


struct ngx_http_persona_entry_s {
    ngx_str_t                   name;
    ngx_int_t                   index;      /* $cookie_NAME */
    time_t                      max_age;    /* 0: until the browser closes */
    ngx_str_t                   attrs;
    ngx_uint_t                  secure;
    ngx_http_persona_cookie_t  *from;       /* visitor cookie of attrs */
};


static ngx_http_persona_entry_t *ngx_http_persona_entry_create(
    ngx_conf_t *cf, ngx_str_t *name);
static ngx_int_t ngx_http_persona_entry_attrs(ngx_conf_t *cf,
    ngx_http_persona_entry_t *entry, ngx_http_persona_cookie_t *cookie);
static ngx_int_t ngx_http_persona_entry_cookie_value(ngx_http_request_t *r,
    ngx_http_persona_entry_t *entry, ngx_str_t *value);


/* persona_entry_cookie NAME [max_age=TIME] | off */

char *
ngx_http_persona_entry_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t                 *value, s;
    ngx_http_persona_entry_t  *entry;

    if (plcf->entry != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        if (cf->args->nelts != 2) {
            return "takes no parameters with \"off\"";
        }

        plcf->entry = NULL;
        return NGX_CONF_OK;
    }

    entry = ngx_http_persona_entry_create(cf, &value[1]);
    if (entry == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        s.len = value[2].len - 8;
        s.data = value[2].data + 8;

        if (value[2].len <= 8
            || ngx_strncmp(value[2].data, "max_age=", 8) != 0
            || (entry->max_age = ngx_parse_time(&s, 1)) == (time_t) NGX_ERROR)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    plcf->entry = entry;

    return NGX_CONF_OK;
}


static ngx_http_persona_entry_t *
ngx_http_persona_entry_create(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_str_t                  var;
    ngx_http_persona_entry_t  *entry;

    if (!ngx_http_persona_valid_name(name, "-")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cookie name \"%V\", only letters, "
                           "digits, \"_\" and \"-\" are allowed", name);
        return NULL;
    }

    entry = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_entry_t));
    if (entry == NULL) {
        return NULL;
    }

    entry->name = *name;

    var.len = sizeof("cookie_") - 1 + name->len;
    var.data = ngx_pnalloc(cf->pool, var.len);
    if (var.data == NULL) {
        return NULL;
    }

    ngx_sprintf(var.data, "cookie_%V", name);

    entry->index = ngx_http_get_variable_index(cf, &var);
    if (entry->index == NGX_ERROR) {
        return NULL;
    }

    return entry;
}


/*
 * The default is "persona_entry_cookie persona_entry;".  The attributes
 * follow each level's visitor cookie, so an inherited setting is copied
 * where the visitor cookie differs.
 */

char *
ngx_http_persona_merge_entry(ngx_conf_t *cf,
    ngx_http_persona_loc_conf_t *prev, ngx_http_persona_loc_conf_t *conf)
{
    ngx_http_persona_entry_t  *entry;

    static ngx_str_t  name = ngx_string("persona_entry");

    if (conf->entry == NGX_CONF_UNSET_PTR) {
        if (prev->entry == NGX_CONF_UNSET_PTR) {
            prev->entry = ngx_http_persona_entry_create(cf, &name);
            if (prev->entry == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        conf->entry = prev->entry;
    }

    entry = conf->entry;

    if (entry == NULL || (entry->attrs.len && entry->from == conf->cookie)) {
        return NGX_CONF_OK;
    }

    if (entry->attrs.len) {
        entry = ngx_palloc(cf->pool, sizeof(ngx_http_persona_entry_t));
        if (entry == NULL) {
            return NGX_CONF_ERROR;
        }

        *entry = *conf->entry;
        conf->entry = entry;
    }

    return ngx_http_persona_entry_attrs(cf, entry, conf->cookie) == NGX_OK
           ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/*
 * The visitor cookie's attributes (its Max-Age is apart): the entry
 * cookie gets its own Max-Age when the cookie is sent.
 */

static ngx_int_t
ngx_http_persona_entry_attrs(ngx_conf_t *cf, ngx_http_persona_entry_t *entry,
    ngx_http_persona_cookie_t *cookie)
{
    static ngx_str_t  plain = ngx_string("; Path=/; HttpOnly; SameSite=Lax");

    entry->attrs = (cookie != NULL) ? cookie->attrs : plain;
    entry->secure = (cookie != NULL) ? cookie->secure
                                     : NGX_HTTP_PERSONA_SECURE_AUTO;
    entry->from = cookie;

    return NGX_OK;
}


/* from the header filter: a new visit's channel, kept for the visitor */

ngx_int_t
ngx_http_persona_entry_set_cookie(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx)
{
    ngx_str_t                      kept, value;
    ngx_http_variable_value_t     *ch;
    ngx_http_persona_entry_t      *entry;
    ngx_http_persona_loc_conf_t   *plcf;
    ngx_http_persona_main_conf_t  *pmcf;

    r = r->main;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);
    entry = plcf->entry;

    if (entry == NULL || ctx->entry_done || !ctx->id_done
        || ctx->id.len == 0 || r->header_sent)
    {
        return NGX_OK;
    }

    ctx->entry_done = 1;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    ch = ngx_http_get_indexed_variable(r, pmcf->channel_index);

    if (ch == NULL) {
        return NGX_ERROR;
    }

    if (ch->not_found || ch->len == 0
        || persona_channel_parse(ch->data, ch->len) == PERSONA_CHANNEL_DIRECT)
    {
        return NGX_OK;
    }

    if (ngx_http_persona_entry_cookie_value(r, entry, &kept) == NGX_OK
        && kept.len == ch->len
        && ngx_strncmp(kept.data, ch->data, ch->len) == 0)
    {
        return NGX_OK;
    }

    value.data = ch->data;
    value.len = ch->len;

    return ngx_http_persona_push_cookie(r, &entry->name, &value,
                                        entry->max_age ? entry->max_age : -1,
                                        &entry->attrs, entry->secure)
           ? NGX_OK : NGX_ERROR;
}


/* the kept channel when it is one, else the request's own */

ngx_int_t
ngx_http_persona_entry_channel(ngx_http_request_t *r, ngx_str_t *channel)
{
    ngx_http_variable_value_t     *ch;
    ngx_http_persona_loc_conf_t   *plcf;
    ngx_http_persona_main_conf_t  *pmcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);

    if (plcf->entry != NULL
        && ngx_http_persona_entry_cookie_value(r, plcf->entry, channel)
           == NGX_OK)
    {
        return NGX_OK;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    ch = ngx_http_get_indexed_variable(r, pmcf->channel_index);

    if (ch == NULL) {
        return NGX_ERROR;
    }

    channel->data = ch->not_found ? (u_char *) "" : ch->data;
    channel->len = ch->not_found ? 0 : ch->len;

    return NGX_OK;
}


/* only a channel name is ever taken from the cookie */

static ngx_int_t
ngx_http_persona_entry_cookie_value(ngx_http_request_t *r,
    ngx_http_persona_entry_t *entry, ngx_str_t *value)
{
    int                         c;
    const char                 *name;
    ngx_http_variable_value_t  *vv;

    vv = ngx_http_get_indexed_variable(r, entry->index);

    if (vv == NULL || vv->not_found) {
        return NGX_DECLINED;
    }

    c = persona_channel_parse(vv->data, vv->len);

    if (c < 0) {
        return NGX_DECLINED;
    }

    name = persona_channel_name(c);

    value->data = (u_char *) name;
    value->len = ngx_strlen(name);

    return NGX_OK;
}
