-- Copyright (C) ngx_http_persona_module authors
--
-- resty.persona: what ngx_http_persona_module knows about the visitor, for
-- Lua code in nginx (OpenResty, or Debian's libnginx-mod-http-lua), called
-- through LuaJIT's FFI as lua-resty-core calls nginx: no variable lookup
-- by name, no string built for a value Lua does not ask for.
--
--     local persona = require "resty.persona"
--
--     local variant = persona.variant("hero")     -- counts as an exposure
--     persona.add_segment("vip")                  -- e.g. after a Redis lookup
--     persona.convert("signup", 12.5)             -- into $persona_conversion
--
-- Functions raise an error only for a misuse (no request, a bad argument
-- type); otherwise they return a value, or nil (or false) and a message.
-- See docs/lua.md.

local ffi = require "ffi"
local base = require "resty.core.base"

local C = ffi.C
local ffi_str = ffi.string
local get_request = base.get_request
local new_tab = base.new_tab
local error = error
local tostring = tostring
local tonumber = tonumber
local type = type
local str_find = string.find
local str_sub = string.sub
local str_format = string.format


ffi.cdef[[
int ngx_http_persona_ffi_id(ngx_http_request_t *r,
    const unsigned char **data, size_t *len);
int ngx_http_persona_ffi_variant(ngx_http_request_t *r,
    const unsigned char *name, size_t name_len, int expose,
    const unsigned char **data, size_t *len);
int ngx_http_persona_ffi_segments(ngx_http_request_t *r,
    const unsigned char **data, size_t *len);
int ngx_http_persona_ffi_in_segment(ngx_http_request_t *r,
    const unsigned char *name, size_t len);
int ngx_http_persona_ffi_add_segment(ngx_http_request_t *r,
    const unsigned char *name, size_t len);
int ngx_http_persona_ffi_context(ngx_http_request_t *r, int field,
    const unsigned char **data, size_t *len);
int ngx_http_persona_ffi_convert(ngx_http_request_t *r,
    const unsigned char *goal, size_t goal_len, const unsigned char *value,
    size_t value_len);
]]


-- a clear message when the module is not loaded, instead of LuaJIT's
-- "undefined symbol" at the first call
if not pcall(function() return C.ngx_http_persona_ffi_id end) then
    error("resty.persona needs ngx_http_persona_module: load_module "
          .. "modules/ngx_http_persona_module.so;", 2)
end


-- return codes, as in src/ngx_http_persona.h
local FFI_OK = 0
local FFI_DECLINED = -5
local FFI_UNKNOWN = -10
local FFI_INVALID = -11

local LOOK = 0
local READ = 1
local EXPOSE = 2

local COUNTRY = 0
local DEVICE = 1
local CHANNEL = 2
local HOUR = 3


-- calls are synchronous: one pair of out parameters serves them all
local data_ptr = ffi.new("const unsigned char *[1]")
local len_ptr = ffi.new("size_t[1]")


local _M = { version = "0.1" }


local function request()
    local r = get_request()
    if not r then
        error("no request found", 3)
    end
    return r
end


local function check_name(name, what)
    if type(name) ~= "string" then
        error("bad " .. what .. " name: string expected, got "
              .. type(name), 3)
    end
end


-- what a call returns but its value: nil when there is none, nil and a
-- message (fmt of the arguments) for an unknown or invalid argument
local function failure(rc, fmt, ...)
    if rc == FFI_DECLINED then
        return nil
    end

    if rc == FFI_UNKNOWN or rc == FFI_INVALID then
        return nil, str_format(fmt, ...)
    end

    return nil, "persona: error"
end


-- the visitor id, or nil without one (no consent, persona_cookie off)
function _M.id()
    local rc = C.ngx_http_persona_ffi_id(request(), data_ptr, len_ptr)

    if rc == FFI_OK then
        return ffi_str(data_ptr[0], len_ptr[0])
    end

    return failure(rc)
end


local function variant(name, expose)
    local rc = C.ngx_http_persona_ffi_variant(request(), name, #name, expose,
                                              data_ptr, len_ptr)

    if rc == FFI_OK then
        return ffi_str(data_ptr[0], len_ptr[0])
    end

    return failure(rc, 'unknown experiment "%s"', name)
end


-- The visitor's variant of an experiment, nil when not in it.  Like
-- $persona_variant_NAME, reading it while the response is being prepared
-- counts as an exposure; with expose == false it does not (call expose()
-- once the variant is used).
function _M.variant(name, expose)
    check_name(name, "experiment")
    return variant(name, expose == false and LOOK or READ)
end


-- Counts the visitor's variant as shown, whenever it is called; returns
-- the variant, or nil when the visitor is not in the experiment.
function _M.expose(name)
    check_name(name, "experiment")
    return variant(name, EXPOSE)
end


-- the segments the visitor is in, as $persona_segments lists them
function _M.segments()
    local rc = C.ngx_http_persona_ffi_segments(request(), data_ptr, len_ptr)

    if rc ~= FFI_OK then
        return nil, "persona: error"
    end

    local s = ffi_str(data_ptr[0], len_ptr[0])
    local t = new_tab(4, 0)
    local n = 0
    local i = 1

    while i <= #s do
        local j = str_find(s, ",", i, true) or #s + 1
        if j > i then
            n = n + 1
            t[n] = str_sub(s, i, j - 1)
        end
        i = j + 1
    end

    return t
end


-- true or false; nil and a message for an invalid name
function _M.in_segment(name)
    check_name(name, "segment")

    local rc = C.ngx_http_persona_ffi_in_segment(request(), name, #name)

    if rc == 1 then
        return true
    end

    if rc == 0 then
        return false
    end

    return failure(rc, 'invalid segment name "%s"', name)
end


-- Puts the visitor in a segment for this request: conditions, content
-- rules, targeting and events decided after the call see it.
function _M.add_segment(name)
    check_name(name, "segment")

    local rc = C.ngx_http_persona_ffi_add_segment(request(), name, #name)

    if rc == FFI_OK then
        return true
    end

    return failure(rc, 'invalid segment name "%s"', name)
end


local function context(r, field)
    local rc = C.ngx_http_persona_ffi_context(r, field, data_ptr, len_ptr)

    if rc == FFI_OK then
        return ffi_str(data_ptr[0], len_ptr[0])
    end

    return nil
end


function _M.country()
    return context(request(), COUNTRY)
end


function _M.device()
    return context(request(), DEVICE)
end


function _M.channel()
    return context(request(), CHANNEL)
end


-- the visitor's local hour, a number from 0 to 23
function _M.hour()
    return tonumber(context(request(), HOUR))
end


-- { country = "FR", device = "mobile", channel = "email", hour = 9 }
function _M.context()
    local r = request()

    return {
        country = context(r, COUNTRY),
        device = context(r, DEVICE),
        channel = context(r, CHANNEL),
        hour = tonumber(context(r, HOUR)),
    }
end


-- Records a conversion, the same event line as the beacon's, into
-- $persona_conversion (one line per conversion of the request): true, or
-- false when the request has no visitor id (a conversion never creates
-- one), or nil and a message for an invalid goal or value.
function _M.convert(goal, value)
    check_name(goal, "goal")

    if value ~= nil and type(value) ~= "number" and type(value) ~= "string"
    then
        error("bad value: number or string expected, got " .. type(value), 2)
    end

    local v = value ~= nil and tostring(value) or nil
    local rc = C.ngx_http_persona_ffi_convert(request(), goal, #goal, v,
                                              v and #v or 0)

    if rc == FFI_OK then
        return true
    end

    if rc == FFI_DECLINED then
        return false
    end

    return failure(rc, 'invalid goal "%s" or value "%s"', goal, v or "")
end


return _M
