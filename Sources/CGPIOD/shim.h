#ifndef EMETER_CGPIOD_SHIM_H
#define EMETER_CGPIOD_SHIM_H
// libgpiod 1.6 (Debian 12: libgpiod-dev). Functions return -1 / NULL and set errno.
#include <gpiod.h>
#endif
