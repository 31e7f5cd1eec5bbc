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

/* "turnpike/0.1.0 (name)" with configure --with-build=name, as nginx's
 * --build; the plain version string otherwise. */
#ifdef TP_BUILD
#define TP_VERSION_BUILD TP_NAME "/" TP_VERSION " (" TP_BUILD ")"
#else
#define TP_VERSION_BUILD TP_NAME "/" TP_VERSION
#endif

#endif
