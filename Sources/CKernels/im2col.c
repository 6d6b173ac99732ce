// im2col straight into packed GEMM panels (layout in include/vfw_kernels.h): the column block a thread multiplies
// is gathered once, into cache, in the order the micro-kernel reads it.

#include "vfw_kernels.h"

#include <string.h>

void vfw_im2col_packed(vfw_isa isa, const vfw_conv_geometry *g, const float *x, int col0, int ncols, float *out) {
    const int nr = vfw_gemm_nr(isa);
    const int k = g->cin * g->kh * g->kw;
    const int hw = g->h * g->w;
    const int unit = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
    for (int j0 = 0; j0 < ncols; j0 += nr) {
        float *panel = out + (size_t)j0 * k;
        const int cols = ncols - j0 < nr ? ncols - j0 : nr;
        // Output position of the panel's first column; later columns advance ox, wrapping to the next row.
        const int first = col0 + j0;
        if (unit) {  // 1×1 stride 1 unpadded: row c of the matrix is plane c itself
            for (int c = 0; c < g->cin; c++) {
                float *dst = panel + (size_t)c * nr;
                memcpy(dst, x + (size_t)c * hw + first, (size_t)cols * sizeof(float));
                for (int q = cols; q < nr; q++) dst[q] = 0;
            }
            continue;
        }
        int oys[64], oxs[64];  // nr ≤ 64
        for (int q = 0; q < cols; q++) { oys[q] = (first + q) / g->wo; oxs[q] = (first + q) % g->wo; }
        int r = 0;
        for (int c = 0; c < g->cin; c++) {
            const float *plane = x + (size_t)c * hw;
            for (int i = 0; i < g->kh; i++) {
                for (int j = 0; j < g->kw; j++, r++) {
                    float *dst = panel + (size_t)r * nr;
                    const int dy = i * g->dh - g->ph, dx = j * g->dw - g->pw;
                    for (int q = 0; q < cols; q++) {
                        const int iy = oys[q] * g->sh + dy, ix = oxs[q] * g->sw + dx;
                        dst[q] = (unsigned)iy < (unsigned)g->h && (unsigned)ix < (unsigned)g->w ? plane[iy * g->w + ix] : 0.0f;
                    }
                    for (int q = cols; q < nr; q++) dst[q] = 0;
                }
            }
        }
    }
}
