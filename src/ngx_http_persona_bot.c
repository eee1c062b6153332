
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Bots: with persona_bots exclude (the default), a visitor that counts as
 * a bot is in no experiment, so it sees the default content or no
 * variant, and logs no exposure.  What counts as a bot is
 * $persona_device = bot (context.c), or the condition given after
 * "exclude"; it is decided once per request.
 */


#include "ngx_http_persona.h"


/* persona_bots exclude [condition] | include */

char *
ngx_http_persona_bots(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t  *value;

    if (plcf->bots != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    plcf->bots_cond = NULL;

    if (ngx_strcmp(value[1].data, "include") == 0) {
        if (cf->args->nelts != 2) {
            return "takes no condition after \"include\"";
        }

        plcf->bots = NGX_HTTP_PERSONA_BOTS_INCLUDE;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "exclude") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\", must be \"exclude\" or "
                           "\"include\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    plcf->bots = NGX_HTTP_PERSONA_BOTS_EXCLUDE;

    if (cf->args->nelts == 3) {
        plcf->bots_cond = ngx_http_persona_cond_compile(cf, &value[2]);
        if (plcf->bots_cond == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* 1 when experiments leave this visitor out as a bot, else 0 */

ngx_int_t
ngx_http_persona_is_bot(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_http_variable_value_t     *vv;
    ngx_http_persona_loc_conf_t   *plcf;
    ngx_http_persona_main_conf_t  *pmcf;

    if (ctx->bot_done) {
        return ctx->bot;
    }

    plcf = ngx_http_get_module_loc_conf(r->main, ngx_http_persona_module);

    rc = 0;

    if (plcf->bots == NGX_HTTP_PERSONA_BOTS_INCLUDE) {
        /* void */

    } else if (plcf->bots_cond != NULL) {
        rc = ngx_http_persona_test(r, ctx, plcf->bots_cond);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

    } else {
        pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

        vv = ngx_http_get_indexed_variable(r, pmcf->device_index);

        if (vv == NULL) {
            return NGX_ERROR;
        }

        rc = (!vv->not_found && vv->len == 3
              && ngx_strncmp(vv->data, "bot", 3) == 0);
    }

    ctx->bot_done = 1;
    ctx->bot = (rc == 1);

    if (ctx->bot) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "persona: a bot, in no experiment");
    }

    return ctx->bot;
}
