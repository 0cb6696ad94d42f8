#ifndef SUMSYNC_CCOMPRESSION_SHIM_H
#define SUMSYNC_CCOMPRESSION_SHIM_H
#include <zlib.h>
#include <lzma.h>
#include <zstd.h>
#include <bzlib.h>

/* inflateInit2 and deflateInit2 are macros; Swift calls these functions instead. */
static inline int czlib_inflate_init(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

static inline int czlib_deflate_init(z_streamp stream, int level, int window_bits) {
    return deflateInit2(stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
}

/* LZMA_STREAM_INIT is a macro Swift cannot import. */
static inline lzma_stream ccompression_lzma_stream(void) {
    lzma_stream stream = LZMA_STREAM_INIT;
    return stream;
}
#endif
