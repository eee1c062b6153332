
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Slots: persona_slot binds a slot name in the HTML to an experiment or
 * to a persona_content rule set; for a request, this file answers which
 * content a slot gets.
 */


#include "ngx_http_persona_module.h"


char *
ngx_http_persona_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t                *value;
    ngx_uint_t                i;
    ngx_http_persona_slot_t  *slot;

    value = cf->args->elts;

    if (!ngx_http_persona_valid_name(&value[1], "-")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid slot name \"%V\", must be 1 to 64 "
                           "letters, digits, \"_\" or \"-\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (plcf->slots == NGX_CONF_UNSET_PTR) {
        plcf->slots = ngx_array_create(cf->pool, 2,
                                       sizeof(ngx_http_persona_slot_t));
        if (plcf->slots == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    slot = plcf->slots->elts;

    for (i = 0; i < plcf->slots->nelts; i++) {
        if (slot[i].name.len == value[1].len
            && ngx_strncmp(slot[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate slot \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    slot = ngx_array_push(plcf->slots);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(slot, sizeof(ngx_http_persona_slot_t));

    slot->name = value[1];
    slot->target = value[2];
    slot->file = cf->conf_file->file.name;
    slot->line = cf->conf_file->line;

    return NGX_CONF_OK;
}


char *
ngx_http_persona_resolve_slots(ngx_conf_t *cf, ngx_array_t *slots)
{
    ngx_uint_t                     i;
    ngx_http_persona_slot_t       *slot;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    slot = slots->elts;

    for (i = 0; i < slots->nelts; i++) {

        if (slot[i].experiment != NULL || slot[i].set != NULL) {
            continue;
        }

        slot[i].experiment = ngx_http_persona_find_experiment(pmcf,
                                                          &slot[i].target);

        if (slot[i].experiment == NULL) {
            slot[i].set = ngx_http_persona_find_content(pmcf,
                                                        &slot[i].target);
        }

        if (slot[i].experiment == NULL && slot[i].set == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown experiment or content \"%V\" in slot "
                          "\"%V\" in %V:%ui", &slot[i].target,
                          &slot[i].name, &slot[i].file, slot[i].line);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_persona_slot_content(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_slot_t *slot,
    ngx_http_persona_content_t **content)
{
    ngx_int_t                    i;
    ngx_uint_t                   k;
    ngx_http_persona_content_rule_t     *rule;
    ngx_http_persona_variant_t  *v;

    *content = NULL;

    if (slot->experiment != NULL) {
        i = ngx_http_persona_assign(r, ctx, slot->experiment);

        if (i >= 0) {
            v = slot->experiment->variants.elts;
            *content = v[i].content;
        }

        return i;
    }

    rule = slot->set->rules.elts;

    i = ngx_http_persona_preview_rule(r, ctx, slot->set);

    if (i != NGX_HTTP_PERSONA_UNKNOWN) {
        *content = (i >= 0) ? rule[i].content : NULL;
        return NGX_HTTP_PERSONA_NONE;
    }

    for (k = 0; k < slot->set->rules.nelts; k++) {

        if (rule[k].cond != NULL) {
            switch (ngx_http_persona_test(r, ctx, rule[k].cond)) {

            case 0:
                continue;

            case 1:
                break;

            default:
                return NGX_ERROR;
            }
        }

        *content = rule[k].content;
        break;
    }

    return NGX_HTTP_PERSONA_NONE;
}
