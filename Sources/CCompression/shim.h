#ifndef SUMSYNC_CCOMPRESSION_SHIM_H
#define SUMSYNC_CCOMPRESSION_SHIM_H
#include <lzma.h>
#include <zstd.h>
#include <bzlib.h>

/* LZMA_STREAM_INIT is a macro Swift cannot import. */
static inline lzma_stream ccompression_lzma_stream(void) {
    lzma_stream stream = LZMA_STREAM_INIT;
    return stream;
}
#endif
