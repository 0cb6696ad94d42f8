#ifndef SUMSYNC_CZLIB_SHIM_H
#define SUMSYNC_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 and deflateInit2 are macros; Swift calls these functions instead. */
static inline int czlib_inflate_init(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

static inline int czlib_deflate_init(z_streamp stream, int level, int window_bits) {
    return deflateInit2(stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
}
#endif
