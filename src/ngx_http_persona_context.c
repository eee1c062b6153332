
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Request context beyond geolocation: the device class, from the
 * User-Agent and Sec-CH-UA-Mobile, and the traffic channel, from utm
 * parameters, click ids and the referrer (persona_channel_rule adds the
 * site's own rules).  Both are plain C in src/core; nginx caches each
 * variable for the request.
 */


#include "ngx_http_persona.h"

#include "persona_channel.h"
#include "persona_device.h"


static ngx_int_t ngx_http_persona_device_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_channel_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_persona_ch_mobile =
    ngx_string("http_sec_ch_ua_mobile");


ngx_http_variable_t  ngx_http_persona_context_vars[] = {

    { ngx_string("persona_device"), NULL,
      ngx_http_persona_device_variable, 0, 0, 0 },

    { ngx_string("persona_channel"), NULL,
      ngx_http_persona_channel_variable, 0, 0, 0 },

      ngx_http_null_variable
};


char *
ngx_http_persona_context_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    pmcf->ch_mobile_index = ngx_http_get_variable_index(cf,
                                                &ngx_http_persona_ch_mobile);

    return (pmcf->ch_mobile_index == NGX_ERROR) ? NGX_CONF_ERROR
                                                : NGX_CONF_OK;
}


static ngx_int_t
ngx_http_persona_device_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    int                            ch;
    const char                    *name;
    ngx_table_elt_t               *ua;
    persona_device_e               dev;
    ngx_http_variable_value_t     *vv;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    ch = -1;

    vv = ngx_http_get_indexed_variable(r, pmcf->ch_mobile_index);

    if (vv != NULL && !vv->not_found && vv->len == 2 && vv->data[0] == '?') {
        ch = (vv->data[1] == '1') ? 1 : 0;
    }

    ua = r->headers_in.user_agent;

    dev = persona_device_classify(ua ? ua->value.data : NULL,
                                  ua ? ua->value.len : 0, ch);

    name = persona_device_name(dev);

    v->data = (u_char *) name;
    v->len = ngx_strlen(name);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_channel_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char                    *name;
    ngx_str_t                      medium, source, arg;
    persona_channel_e              ch;
    persona_channel_input_t        in;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    ngx_memzero(&in, sizeof(persona_channel_input_t));

    if (ngx_http_arg(r, (u_char *) "utm_medium", 10, &medium) == NGX_OK) {
        in.medium = medium.data;
        in.medium_len = medium.len;
    }

    if (ngx_http_arg(r, (u_char *) "utm_source", 10, &source) == NGX_OK) {
        in.source = source.data;
        in.source_len = source.len;
    }

    if (ngx_http_arg(r, (u_char *) "gclid", 5, &arg) == NGX_OK
        || ngx_http_arg(r, (u_char *) "msclkid", 7, &arg) == NGX_OK)
    {
        in.click_id = 1;
        in.paid_click = 1;

    } else if (ngx_http_arg(r, (u_char *) "fbclid", 6, &arg) == NGX_OK) {
        in.click_id = 1;
    }

    if (r->headers_in.referer != NULL) {
        in.referer = r->headers_in.referer->value.data;
        in.referer_len = r->headers_in.referer->value.len;
    }

    in.host = r->headers_in.server.data;
    in.host_len = r->headers_in.server.len;

    ch = persona_channel_classify(&in, pmcf->channel_rules.elts,
                                  pmcf->channel_rules.nelts);

    name = persona_channel_name(ch);

    v->data = (u_char *) name;
    v->len = ngx_strlen(name);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


char *
ngx_http_persona_channel_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    int                      ch;
    ngx_str_t               *value;
    persona_channel_rule_t  *rule;

    value = cf->args->elts;

    rule = ngx_array_push(&pmcf->channel_rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[1].data, "medium") == 0) {
        rule->match = PERSONA_CHANNEL_MATCH_MEDIUM;

    } else if (ngx_strcmp(value[1].data, "source") == 0) {
        rule->match = PERSONA_CHANNEL_MATCH_SOURCE;

    } else if (ngx_strcmp(value[1].data, "referrer") == 0) {
        rule->match = PERSONA_CHANNEL_MATCH_REFERRER;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid match \"%V\", must be \"medium\", "
                           "\"source\" or \"referrer\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    ch = persona_channel_parse(value[3].data, value[3].len);

    if (ch < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown channel \"%V\", must be email, social, "
                           "search, paid, referral or direct", &value[3]);
        return NGX_CONF_ERROR;
    }

    if (value[2].len == 0) {
        return "has an empty value";
    }

    rule->value = value[2].data;
    rule->len = value[2].len;
    rule->channel = ch;

    return NGX_CONF_OK;
}
