// vfw's compute kernels in C: instruction sets chosen at run time, packed single-precision GEMM with a fused
// epilogue. The Swift side (TensorCore/Kernels) owns threads and splits work; everything here is single-threaded
// and works on the block of the output it is given.
//
// Instruction sets: every kernel has a generic path (plain C, any CPU), an AVX2+FMA path and an AVX-512F path,
// each compiled with __attribute__((target(...))) so that nothing needs -march at build time. `vfw_isa_best()`
// reads CPUID (and XGETBV: the OS must save the vector state) once; VFW_ISA=generic|avx2|avx512 in the
// environment caps it (tests and benchmarks run the AVX2 path on an AVX-512 machine this way).
//
// GEMM: C[m, n] = epilogue(A[m, k] · B[k, n]), row-major C with row stride ldc.
//   Packed A: panels of MR rows; panel i holds A[i·MR + r, p] at ap[i·MR·k + p·MR + r] (rows past m are 0).
//   Packed B: panels of NR columns; panel j holds B[p, j·NR + c] at bp[j·NR·k + p·NR + c] (columns past n are 0).
//   MR, NR depend on the instruction set (vfw_gemm_mr/nr): pack with the same isa that multiplies.
//   Epilogue, applied once per output element while its tile is in registers, in this order:
//     v = acc (+ row_bias[i]) (+ col_bias[j]) (+ residual[i·ldr + j]); v = relu ? max(v, 0) : v  (NaN stays NaN).
#ifndef VFW_KERNELS_H
#define VFW_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { VFW_ISA_GENERIC = 0, VFW_ISA_AVX2 = 1, VFW_ISA_AVX512 = 2 } vfw_isa;

/// 1 when this CPU and OS can run `isa` (generic: always).
int vfw_isa_supported(vfw_isa isa);
/// The best supported instruction set, capped by VFW_ISA when it is set (read once).
vfw_isa vfw_isa_best(void);

/// Rows per packed A panel and columns per packed B panel for `isa`.
int vfw_gemm_mr(vfw_isa isa);
int vfw_gemm_nr(vfw_isa isa);
/// Floats a packed A of m rows (B of n columns) by k occupies.
size_t vfw_packed_a_size(vfw_isa isa, int m, int k);
size_t vfw_packed_b_size(vfw_isa isa, int k, int n);

/// Packs A[m, k], element (i, p) at a[i·rs + p·cs], into `out` (see the header comment).
void vfw_pack_a(vfw_isa isa, int m, int k, const float *a, ptrdiff_t rs, ptrdiff_t cs, float *out);
/// Packs B[k, n], element (p, j) at b[p·rs + j·cs], into `out`.
void vfw_pack_b(vfw_isa isa, int k, int n, const float *b, ptrdiff_t rs, ptrdiff_t cs, float *out);

typedef struct {
    const float *row_bias;  ///< [m] or NULL
    const float *col_bias;  ///< [n] or NULL
    const float *residual;  ///< [m, n] with row stride ldr, or NULL
    ptrdiff_t ldr;
    int relu;               ///< 1: max(v, 0) last
} vfw_epilogue;

/// Tuning: K is split into blocks of `kc` (so a B micro-panel of kc·NR floats stays in L1), rows into blocks of
/// `mc` (so mc·kc floats of A stay in L2). 0 picks the defaults (vfw_gemm_default_kc/mc).
typedef struct { int kc, mc; } vfw_gemm_tuning;
int vfw_gemm_default_kc(vfw_isa isa);
int vfw_gemm_default_mc(vfw_isa isa);

/// C[m, n] = epilogue(A·B) from packed A (m rows, k deep) and packed B (n columns, k deep). C is fully written.
/// `epi` may be NULL (plain product). To compute a block of rows/columns, offset ap by whole panels
/// (i0·k with i0 a multiple of MR), bp likewise (j0·k), and c, row_bias, col_bias, residual to match.
void vfw_gemm_packed(vfw_isa isa, int m, int n, int k, const float *ap, const float *bp, float *c, ptrdiff_t ldc,
                     const vfw_epilogue *epi, vfw_gemm_tuning tuning);

/// As vfw_gemm_packed, with A row-major as stored (element (i, p) at a[i·lda + p]): no packed copy of A is needed.
/// Convolution weights [Cout, K] and Winograd's U are used this way. kc is capped at 512 here.
void vfw_gemm_rows(vfw_isa isa, int m, int n, int k, const float *a, ptrdiff_t lda, const float *bp, float *c, ptrdiff_t ldc,
                   const vfw_epilogue *epi, vfw_gemm_tuning tuning);

/// As vfw_gemm_rows, storing the transpose: element (i, j) of the product goes to c[j·ldc + i], and the residual is
/// read at residual[j·ldr + i]. A linear layer y[M, out] = x·Wᵀ runs as (W·xᵀ)ᵀ this way: the weights W [out, in]
/// are A as stored, x is packed as B, so no copy of the weights is ever made.
void vfw_gemm_rows_transposed(vfw_isa isa, int m, int n, int k, const float *a, ptrdiff_t lda, const float *bp, float *c,
                              ptrdiff_t ldc, const vfw_epilogue *epi, vfw_gemm_tuning tuning);

#ifdef __cplusplus
}
#endif
#endif

#ifndef VFW_KERNELS_CONV_H
#define VFW_KERNELS_CONV_H
#ifdef __cplusplus
extern "C" {
#endif

/// One image's convolution geometry (PyTorch nn.Conv2d; groups are handled by the caller).
typedef struct {
    int cin, h, w;      ///< input channels (of this group) and plane size
    int kh, kw, sh, sw, ph, pw, dh, dw;
    int ho, wo;         ///< output plane size
} vfw_conv_geometry;

/// The im2col matrix of one image x[cin, h, w] (plane stride h·w), columns [col0, col0 + ncols) of the output plane
/// (column oy·wo + ox), written directly as packed B panels (k = cin·kh·kw rows, row r = (c·kh + i)·kw + j, holding
/// x[c, oy·sh − ph + i·dh, ox·sw − pw + j·dw], 0 outside the image). `out` then feeds vfw_gemm_packed.
void vfw_im2col_packed(vfw_isa isa, const vfw_conv_geometry *g, const float *x, int col0, int ncols, float *out);

#ifdef __cplusplus
}
#endif
#endif

#ifndef VFW_KERNELS_TRANSPOSE_H
#define VFW_KERNELS_TRANSPOSE_H
#ifdef __cplusplus
extern "C" {
#endif
/// dst[j·ldd + i] = epilogue(src[i·lds + j]) for i < rows, j < cols: a product computed as rows = output features,
/// columns = tokens (the weights as A) stored as y[token, feature]. Epilogue element (i, j): row_bias[i], col_bias[j],
/// residual[j·ldr + i] (laid out like dst), then ReLU.
void vfw_transpose_epilogue(int rows, int cols, const float *src, ptrdiff_t lds, float *dst, ptrdiff_t ldd,
                            const vfw_epilogue *epi);
#ifdef __cplusplus
}
#endif
#endif
