#ifndef SUMSYNC_CLIBXML2_SHIM_H
#define SUMSYNC_CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU; its headers would then pull ICU's into this module, where they clash
   with Foundation's own copy. Nothing here uses the ICU parts (only pointers to encoding handlers). */
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#include <libxml/parser.h>
#endif
