/*
 * Common prelude of the core unit tests: cmocka needs these headers
 * before its own.
 */

#ifndef PERSONA_UNIT_H
#define PERSONA_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#endif
