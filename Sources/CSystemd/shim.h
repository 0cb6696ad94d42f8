#ifndef SUMSYNC_CSYSTEMD_SHIM_H
#define SUMSYNC_CSYSTEMD_SHIM_H

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <malloc.h>

/* Swift cannot call C variadic functions, so the Swift side uses only the non-variadic forms:
   sd_notify, sd_journal_sendv and sd_watchdog_enabled. */

#endif
