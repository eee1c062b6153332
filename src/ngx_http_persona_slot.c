
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Slots: persona_slot binds a slot name in the HTML to an experiment, a
 * factor of a multivariate experiment ("mvt.headline") or a
 * persona_content rule set; for a request, this file answers which
 * content a slot gets, and what showing it exposes.
 *
 * Slots are named, so a level inherits the slots of the levels above
 * and its own persona_slot lines add to them, a name bound again taking
 * the new target ("off" unbinding it), instead of nginx's usual rule
 * that an array directive at a lower level discards the inherited ones:
 * the header and footer slots of a server must not vanish in the one
 * location that adds a slot of its own.
 *
 * Exposures are numbered for the filter: experiment i is i, content set
 * j is the number of experiments plus j (ctx->exposed follows it).
 */


#include "ngx_http_persona.h"


static char *ngx_http_persona_resolve_slots(ngx_conf_t *cf,
    ngx_array_t *slots);
static ngx_http_persona_slot_t *ngx_http_persona_find_slot(
    ngx_array_t *slots, ngx_str_t *name);


char *
ngx_http_persona_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_loc_conf_t *plcf = conf;

    ngx_str_t                *value;
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

    if (ngx_http_persona_find_slot(plcf->slots, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate slot \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
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
    slot->off = (value[2].len == 3
                 && ngx_strncmp(value[2].data, "off", 3) == 0);
    slot->location = (cf->cmd_type == NGX_HTTP_LOC_CONF);

    return NGX_CONF_OK;
}


static ngx_http_persona_slot_t *
ngx_http_persona_find_slot(ngx_array_t *slots, ngx_str_t *name)
{
    ngx_uint_t                i;
    ngx_http_persona_slot_t  *slot;

    slot = slots->elts;

    for (i = 0; i < slots->nelts; i++) {
        if (slot[i].name.len == name->len
            && ngx_strncmp(slot[i].name.data, name->data, name->len) == 0)
        {
            return &slot[i];
        }
    }

    return NULL;
}


char *
ngx_http_persona_merge_slots(ngx_conf_t *cf,
    ngx_http_persona_loc_conf_t *prev, ngx_http_persona_loc_conf_t *conf)
{
    ngx_uint_t                i;
    ngx_array_t              *own, *up, *slots;
    ngx_http_persona_slot_t  *slot, *s;

    own = conf->slots;
    up = (prev->slots == NGX_CONF_UNSET_PTR) ? NULL : prev->slots;

    if (own == NGX_CONF_UNSET_PTR) {
        conf->slots = up;
        return up ? ngx_http_persona_resolve_slots(cf, up) : NGX_CONF_OK;
    }

    slot = own->elts;

    /* "persona" may be on in another location, so this is not an error */

    if (slot[0].location && !slot[0].off && !conf->enable) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "slot \"%V\" is not filled, \"persona\" is off in "
                      "this location in %V:%ui", &slot[0].name,
                      &slot[0].file, slot[0].line);
    }

    slots = ngx_array_create(cf->pool, own->nelts + (up ? up->nelts : 0),
                             sizeof(ngx_http_persona_slot_t));
    if (slots == NULL) {
        return NGX_CONF_ERROR;
    }

    /* room is reserved: the pushes below cannot fail */

    if (up != NULL) {
        s = up->elts;

        for (i = 0; i < up->nelts; i++) {
            if (ngx_http_persona_find_slot(own, &s[i].name) == NULL) {
                *(ngx_http_persona_slot_t *) ngx_array_push(slots) = s[i];
            }
        }
    }

    for (i = 0; i < own->nelts; i++) {
        if (!slot[i].off) {
            *(ngx_http_persona_slot_t *) ngx_array_push(slots) = slot[i];
        }
    }

    conf->slots = slots->nelts ? slots : NULL;

    if (conf->slots == NULL) {
        return NGX_CONF_OK;
    }

    return ngx_http_persona_resolve_slots(cf, conf->slots);
}


static char *
ngx_http_persona_resolve_slots(ngx_conf_t *cf, ngx_array_t *slots)
{
    u_char                        *dot;
    ngx_str_t                      name, factor;
    ngx_uint_t                     i;
    ngx_http_persona_slot_t       *slot;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    slot = slots->elts;

    for (i = 0; i < slots->nelts; i++) {

        if (slot[i].experiment != NULL || slot[i].set != NULL) {
            continue;
        }

        name = slot[i].target;
        dot = ngx_strlchr(name.data, name.data + name.len, '.');

        if (dot != NULL) {
            /* EXPERIMENT.FACTOR */

            factor.data = dot + 1;
            factor.len = name.data + name.len - factor.data;
            name.len = dot - name.data;

            slot[i].experiment = ngx_http_persona_find_experiment(pmcf,
                                                                  &name);

            if (slot[i].experiment != NULL) {
                slot[i].factor = ngx_http_persona_find_factor(
                                     slot[i].experiment, &factor);

                if (slot[i].factor == NULL) {
                    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                                  "unknown factor \"%V\" of experiment "
                                  "\"%V\" in slot \"%V\" in %V:%ui",
                                  &factor, &name, &slot[i].name,
                                  &slot[i].file, slot[i].line);
                    return NGX_CONF_ERROR;
                }

                continue;
            }
        }

        slot[i].experiment = ngx_http_persona_find_experiment(pmcf, &name);

        if (slot[i].experiment != NULL
            && slot[i].experiment->factors.nelts)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "experiment \"%V\" in slot \"%V\" is "
                          "multivariate, a slot shows one of its factors: "
                          "\"%V.FACTOR\" in %V:%ui", &name, &slot[i].name,
                          &name, &slot[i].file, slot[i].line);
            return NGX_CONF_ERROR;
        }

        if (slot[i].experiment == NULL && dot == NULL) {
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


/*
 * The content of a slot (NULL: its default stays) and the exposure that
 * showing it makes, or NGX_HTTP_PERSONA_NONE, or NGX_ERROR.
 */

ngx_int_t
ngx_http_persona_slot_content(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_slot_t *slot,
    ngx_http_persona_content_t **content)
{
    ngx_int_t                       i;
    ngx_http_persona_variant_t     *v;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    *content = NULL;

    exp = slot->experiment;

    if (exp == NULL) {
        if (ngx_http_persona_content_choose(r, ctx, slot->set, content)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }

        /* a bot sees the rules, but its visits measure nothing */

        i = ngx_http_persona_is_bot(r, ctx);

        if (i != 0) {
            return (i == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_PERSONA_NONE;
        }

        pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

        return pmcf->experiments.nelts + slot->set->index;
    }

    i = ngx_http_persona_assign(r, ctx, exp);

    if (i < 0) {
        return i;
    }

    /* in the global holdout: the default, logged as a holdout exposure */

    i = ngx_http_persona_variant_shown(r, ctx, exp);

    if (i == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (i >= 0) {
        if (slot->factor != NULL) {
            v = slot->factor->levels.elts;
            v = &v[exp->levels[i * exp->factors.nelts + slot->factor->index]];

        } else {
            v = exp->variants.elts;
            v = &v[i];
        }

        *content = v->content;
    }

    return exp->index;
}


/* how many exposures a response can make: experiments, then sets */

ngx_uint_t
ngx_http_persona_exposures_n(ngx_http_request_t *r)
{
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    return pmcf->experiments.nelts + pmcf->sets.nelts;
}
