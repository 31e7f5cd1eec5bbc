/* version.h - the name and version the server reports. */
#ifndef TP_VERSION_H
#define TP_VERSION_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#define TP_NAME "turnpike"
#ifdef PACKAGE_VERSION
#define TP_VERSION PACKAGE_VERSION
#else
#define TP_VERSION "0.0.0"
#endif

#endif
