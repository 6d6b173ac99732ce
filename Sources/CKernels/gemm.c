// Packed single-precision GEMM with a fused epilogue; layouts and contract in include/vfw_kernels.h.
//
// Blocking (GotoBLAS order, one thread): for each K block of kc, for each row block of mc, for each B panel of NR
// columns (kc·NR floats, in L1), for each A panel of MR rows (kc·MR floats, streamed from L2): one MR×NR
// micro-kernel. The first K block stores its tile, later ones add to it, and the last one applies the epilogue
// before the store, while the tile is still in registers.
//
// Micro-kernels (per k step: load one B row of NR, broadcast each of the MR A values, MR·NR/lanes FMAs):
//   AVX-512F  MR = 8, NR = 32: 16 zmm accumulators, 2 B vectors, 1 broadcast.
//   AVX2+FMA  MR = 4, NR = 16: 8 ymm accumulators, 2 B vectors, 1 broadcast (12 accumulators of a 4×24 or
//             6×16 tile leave too few of the 16 ymm registers: clang spills one in the loop, half speed).
//   generic   MR = 4, NR = 16: plain C (the compiler vectorises what the baseline target allows).
// MR divides every channel count of the usual networks (multiples of 8), so conv tiles have no row edges; column
// edges are stored with masks, rows past m are skipped.
// Summation order: each output is Σ over p in increasing order, one FMA per term (generic: mul + add), K blocks
// added in order; then bias(es), then the residual.

#include "vfw_kernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VFW_X86 1
#endif

// MARK: - Shapes per instruction set

int vfw_gemm_mr(vfw_isa isa) { return isa == VFW_ISA_AVX512 ? 8 : 4; }
int vfw_gemm_nr(vfw_isa isa) { return isa == VFW_ISA_AVX512 ? 32 : 16; }
// kc·NR·4 bytes of B stay in a 32 KB L1 with room for the A stream: 32 KB at AVX-512 (kc 256 · 32), 16 KB at AVX2.
int vfw_gemm_default_kc(vfw_isa isa) { return isa == VFW_ISA_AVX512 ? 256 : 256; }
// mc·kc·4 bytes of A in L2 (512 KB at 516 rows · 256): Zen 1 has 512 KB of L2 per core, Zen 4 1 MB.
int vfw_gemm_default_mc(vfw_isa isa) { return isa == VFW_ISA_AVX512 ? 384 : 252; }

static inline size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

size_t vfw_packed_a_size(vfw_isa isa, int m, int k) { return round_up((size_t)m, (size_t)vfw_gemm_mr(isa)) * (size_t)k; }
size_t vfw_packed_b_size(vfw_isa isa, int k, int n) { return round_up((size_t)n, (size_t)vfw_gemm_nr(isa)) * (size_t)k; }

// MARK: - Packing

void vfw_pack_a(vfw_isa isa, int m, int k, const float *a, ptrdiff_t rs, ptrdiff_t cs, float *out) {
    const int mr = vfw_gemm_mr(isa);
    for (int i0 = 0; i0 < m; i0 += mr) {
        float *panel = out + (size_t)i0 * k;
        const int rows = m - i0 < mr ? m - i0 : mr;
        for (int p = 0; p < k; p++) {
            float *dst = panel + (size_t)p * mr;
            for (int r = 0; r < rows; r++) dst[r] = a[(i0 + r) * rs + p * cs];
            for (int r = rows; r < mr; r++) dst[r] = 0;
        }
    }
}

void vfw_pack_b(vfw_isa isa, int k, int n, const float *b, ptrdiff_t rs, ptrdiff_t cs, float *out) {
    const int nr = vfw_gemm_nr(isa);
    for (int j0 = 0; j0 < n; j0 += nr) {
        float *panel = out + (size_t)j0 * k;
        const int cols = n - j0 < nr ? n - j0 : nr;
        for (int p = 0; p < k; p++) {
            float *dst = panel + (size_t)p * nr;
            const float *src = b + p * rs + j0 * cs;
            if (cs == 1) {
                memcpy(dst, src, (size_t)cols * sizeof(float));
            } else {
                for (int c = 0; c < cols; c++) dst[c] = src[c * cs];
            }
            for (int c = cols; c < nr; c++) dst[c] = 0;
        }
    }
}

// MARK: - Epilogue, one element

/// The epilogue of element (i, j), whose residual is at e->residual[roff].
static inline float epilogue1r(float v, const vfw_epilogue *e, int i, int j, ptrdiff_t roff) {
    if (e->row_bias) v += e->row_bias[i];
    if (e->col_bias) v += e->col_bias[j];
    if (e->residual) v += e->residual[roff];
    if (e->relu) v = v < 0 ? 0 : v;  // NaN compares false and stays
    return v;
}

static inline float epilogue1(float v, const vfw_epilogue *e, int i, int j) {
    if (e->row_bias) v += e->row_bias[i];
    if (e->col_bias) v += e->col_bias[j];
    if (e->residual) v += e->residual[(ptrdiff_t)i * e->ldr + j];
    if (e->relu) v = v < 0 ? 0 : v;  // NaN compares false and stays
    return v;
}

/// Stores the valid mv×nv part of a full tile buffer t (row stride nr) into c: add to c when `accumulate`,
/// then the epilogue when `e` is given. (i0, j0): the tile's position in the whole output.
static void store_edge(const float *t, int nr, float *c, ptrdiff_t ldc, int mv, int nv, int accumulate,
                       const vfw_epilogue *e, int i0, int j0) {
    for (int r = 0; r < mv; r++) {
        for (int q = 0; q < nv; q++) {
            float v = t[r * nr + q];
            if (accumulate) v = c[r * ldc + q] + v;
            if (e) v = epilogue1(v, e, i0 + r, j0 + q);
            c[r * ldc + q] = v;
        }
    }
}

// MARK: - Generic micro-kernel (MR 4, NR 16)

static void ukr_generic(int kc, const float *restrict a, ptrdiff_t ars, ptrdiff_t acs, const float *restrict b, float *c,
                        ptrdiff_t ldc, int mv, int nv, int accumulate, const vfw_epilogue *e, int i0, int j0) {
    float t[4][16];
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 16; q++) t[r][q] = 0;
    for (int p = 0; p < kc; p++) {
        const float *bp = b + p * 16;
        for (int r = 0; r < 4; r++) {
            const float av = a[r * ars + p * acs];
            for (int q = 0; q < 16; q++) t[r][q] += av * bp[q];
        }
    }
    store_edge(&t[0][0], 16, c, ldc, mv, nv, accumulate, e, i0, j0);
}

#if VFW_X86

// MARK: - AVX2 + FMA micro-kernel (MR 4, NR 16)

/// Stores `cols` (1...8) lanes of v at c: c (+)= v, then the epilogue for row i, columns j..<j + cols.
__attribute__((target("avx2,fma")))
static inline void store8_avx2(__m256 v, float *c, int cols, int accumulate, const vfw_epilogue *e, int i, int j) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const int full = cols == 8;
    if (accumulate) v = _mm256_add_ps(full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, mask), v);
    if (e) {
        if (e->row_bias) v = _mm256_add_ps(v, _mm256_set1_ps(e->row_bias[i]));
        if (e->col_bias) v = _mm256_add_ps(v, full ? _mm256_loadu_ps(e->col_bias + j) : _mm256_maskload_ps(e->col_bias + j, mask));
        if (e->residual) {
            const float *r = e->residual + (ptrdiff_t)i * e->ldr + j;
            v = _mm256_add_ps(v, full ? _mm256_loadu_ps(r) : _mm256_maskload_ps(r, mask));
        }
        if (e->relu) v = _mm256_max_ps(_mm256_setzero_ps(), v);  // max returns its second operand for NaN and ±0
    }
    if (full) _mm256_storeu_ps(c, v); else _mm256_maskstore_ps(c, mask, v);
}

#define VFW_ROW2(i) x = _mm256_broadcast_ss(a + i * ars); r##i##0 = _mm256_fmadd_ps(x, b0, r##i##0); r##i##1 = _mm256_fmadd_ps(x, b1, r##i##1);

__attribute__((target("avx2,fma"), always_inline))
static inline void ukr_avx2(int kc, const float *restrict a, ptrdiff_t ars, ptrdiff_t acs, const float *restrict b, float *c,
                            ptrdiff_t ldc, int mv, int nv, int accumulate, const vfw_epilogue *e, int i0, int j0) {
    __m256 r00 = _mm256_setzero_ps(), r01 = r00, r10 = r00, r11 = r00, r20 = r00, r21 = r00, r30 = r00, r31 = r00;
    if (nv <= 8) {  // a narrow edge (or a narrow product): half the work
        for (int p = 0; p < kc; p++) {
            const __m256 b0 = _mm256_loadu_ps(b);
            r00 = _mm256_fmadd_ps(_mm256_broadcast_ss(a), b0, r00); r10 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + ars), b0, r10);
            r20 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2 * ars), b0, r20); r30 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3 * ars), b0, r30);
            a += acs;
            b += 16;
        }
    } else for (int p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x;
        VFW_ROW2(0) VFW_ROW2(1) VFW_ROW2(2) VFW_ROW2(3)
        a += acs;
        b += 16;
    }
    const __m256 acc[4][2] = {{r00, r01}, {r10, r11}, {r20, r21}, {r30, r31}};
    for (int r = 0; r < mv; r++) {
        for (int h = 0; h < 2; h++) {
            const int cols = nv - 8 * h;
            if (cols <= 0) break;
            store8_avx2(acc[r][h], c + r * ldc + 8 * h, cols < 8 ? cols : 8, accumulate, e, i0 + r, j0 + 8 * h);
        }
    }
}

// MARK: - AVX-512F micro-kernel (MR 8, NR 32)

/// Stores `cols` (1...16) lanes of v at c, as store8_avx2.
__attribute__((target("avx512f")))
static inline void store16_avx512(__m512 v, float *c, int cols, int accumulate, const vfw_epilogue *e, int i, int j) {
    const __mmask16 m = (__mmask16)((1u << cols) - 1);
    if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, c), v);
    if (e) {
        if (e->row_bias) v = _mm512_add_ps(v, _mm512_set1_ps(e->row_bias[i]));
        if (e->col_bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, e->col_bias + j));
        if (e->residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, e->residual + (ptrdiff_t)i * e->ldr + j));
        if (e->relu) v = _mm512_max_ps(_mm512_setzero_ps(), v);
    }
    _mm512_mask_storeu_ps(c, m, v);
}

#define VFW_ROW(i) x = _mm512_set1_ps(a[i * ars]); r##i##0 = _mm512_fmadd_ps(x, b0, r##i##0); r##i##1 = _mm512_fmadd_ps(x, b1, r##i##1);

__attribute__((target("avx512f"), always_inline))
static inline void ukr_avx512(int kc, const float *restrict a, ptrdiff_t ars, ptrdiff_t acs, const float *restrict b, float *c,
                              ptrdiff_t ldc, int mv, int nv, int accumulate, const vfw_epilogue *e, int i0, int j0) {
    __m512 r00 = _mm512_setzero_ps(), r01 = r00, r10 = r00, r11 = r00, r20 = r00, r21 = r00, r30 = r00, r31 = r00;
    __m512 r40 = r00, r41 = r00, r50 = r00, r51 = r00, r60 = r00, r61 = r00, r70 = r00, r71 = r00;
    if (nv <= 16) {  // a narrow edge (or a narrow product): half the work
        for (int p = 0; p < kc; p++) {
            const __m512 b0 = _mm512_loadu_ps(b);
            r00 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b0, r00); r10 = _mm512_fmadd_ps(_mm512_set1_ps(a[ars]), b0, r10);
            r20 = _mm512_fmadd_ps(_mm512_set1_ps(a[2 * ars]), b0, r20); r30 = _mm512_fmadd_ps(_mm512_set1_ps(a[3 * ars]), b0, r30);
            r40 = _mm512_fmadd_ps(_mm512_set1_ps(a[4 * ars]), b0, r40); r50 = _mm512_fmadd_ps(_mm512_set1_ps(a[5 * ars]), b0, r50);
            r60 = _mm512_fmadd_ps(_mm512_set1_ps(a[6 * ars]), b0, r60); r70 = _mm512_fmadd_ps(_mm512_set1_ps(a[7 * ars]), b0, r70);
            a += acs;
            b += 32;
        }
    } else for (int p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 x;
        VFW_ROW(0) VFW_ROW(1) VFW_ROW(2) VFW_ROW(3) VFW_ROW(4) VFW_ROW(5) VFW_ROW(6) VFW_ROW(7)
        a += acs;
        b += 32;
    }
    const __m512 acc[8][2] = {{r00, r01}, {r10, r11}, {r20, r21}, {r30, r31}, {r40, r41}, {r50, r51}, {r60, r61}, {r70, r71}};
    for (int r = 0; r < mv; r++) {
        for (int h = 0; h < 2; h++) {
            const int cols = nv - 16 * h;
            if (cols <= 0) break;
            store16_avx512(acc[r][h], c + r * ldc + 16 * h, cols < 16 ? cols : 16, accumulate, e, i0 + r, j0 + 16 * h);
        }
    }
}

#endif  // VFW_X86

// Two specialisations per instruction set: A packed (element (r, p) at a[r + p·MR]) and A row-major (a[r·lda + p]).
// Row-major A lets convolution weights and Winograd's U be used as stored, with no packed copy per instruction set.
#define VFW_WRAP(name, impl, attr, mr)                                                                                  \
    attr static void name##_packed(int kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,      \
                                   int mv, int nv, int acc, const vfw_epilogue *e, int i0, int j0) {                   \
        (void)lda; impl(kc, a, 1, mr, b, c, ldc, mv, nv, acc, e, i0, j0);                                               \
    }                                                                                                                  \
    attr static void name##_rows(int kc, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc,        \
                                 int mv, int nv, int acc, const vfw_epilogue *e, int i0, int j0) {                     \
        impl(kc, a, lda, 1, b, c, ldc, mv, nv, acc, e, i0, j0);                                                         \
    }
VFW_WRAP(generic, ukr_generic, , 4)
#if VFW_X86
VFW_WRAP(avx2, ukr_avx2, __attribute__((target("avx2,fma"))), 4)
VFW_WRAP(avx512, ukr_avx512, __attribute__((target("avx512f"))), 8)
#endif

// MARK: - Driver

typedef void (*vfw_ukr)(int, const float *, ptrdiff_t, const float *, float *, ptrdiff_t, int, int, int, const vfw_epilogue *, int, int);

static vfw_ukr micro_kernel(vfw_isa isa, int rows) {
#if VFW_X86
    if (isa == VFW_ISA_AVX512) return rows ? avx512_rows : avx512_packed;
    if (isa == VFW_ISA_AVX2) return rows ? avx2_rows : avx2_packed;
#endif
    (void)isa;
    return rows ? generic_rows : generic_packed;
}

/// The blocked loops of both entry points. Row-major A (lda > 0): a row panel starts at a + i·lda and K block k0 at
/// + k0; an edge panel (fewer than MR rows) is copied into a zero-padded packed buffer so no row past m is read.
static void gemm_driver(vfw_isa isa, int m, int n, int k, const float *a, ptrdiff_t lda, const float *bp, float *c,
                        ptrdiff_t ldc, int transposed, const vfw_epilogue *epi, vfw_gemm_tuning tuning) {
    if (m <= 0 || n <= 0) return;
    const int mr = vfw_gemm_mr(isa), nr = vfw_gemm_nr(isa);
    if (k <= 0) {  // the empty sum is 0; the epilogue still applies
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                const ptrdiff_t at = transposed ? (ptrdiff_t)j * ldc + i : (ptrdiff_t)i * ldc + j;
                c[at] = epi ? epilogue1r(0, epi, i, j, transposed ? (ptrdiff_t)j * epi->ldr + i : (ptrdiff_t)i * epi->ldr + j) : 0;
            }
        return;
    }
    const int rows = lda > 0;
    float tile[8 * 32];  // MR·NR: a transposed output's tile before it is stored
    const vfw_ukr ukr = micro_kernel(isa, rows), packed = micro_kernel(isa, 0);
    const int kc = tuning.kc > 0 ? tuning.kc : vfw_gemm_default_kc(isa);
    int mc = tuning.mc > 0 ? tuning.mc : vfw_gemm_default_mc(isa);
    mc = (mc + mr - 1) / mr * mr;
    float edge[8 * 512];  // MR·kc floats of an edge panel (kc ≤ 512)
    const int kcEdge = kc < 512 ? kc : 512;
    for (int k0 = 0; k0 < k; k0 += kcEdge) {
        const int kb = k - k0 < kcEdge ? k - k0 : kcEdge;
        const vfw_epilogue *e = k0 + kb == k ? epi : NULL;
        for (int m0 = 0; m0 < m; m0 += mc) {
            const int mEnd = m - m0 < mc ? m : m0 + mc;
            for (int j = 0; j < n; j += nr) {
                const int nv = n - j < nr ? n - j : nr;
                const float *bpan = bp + (size_t)j * k + (size_t)k0 * nr;
                for (int i = m0; i < mEnd; i += mr) {
                    const int mv = m - i < mr ? m - i : mr;
                    // Transposed output: the tile goes to a buffer first (no accumulation, no epilogue), then into
                    // c[j·ldc + i] with both, element by element (MR·NR stores per 2·MR·NR·kb flops).
                    float *ct = transposed ? tile : c + (ptrdiff_t)i * ldc + j;
                    const ptrdiff_t ldt = transposed ? nr : ldc;
                    const int acc = transposed ? 0 : k0 > 0;
                    const vfw_epilogue *et = transposed ? NULL : e;
                    if (!rows) {
                        ukr(kb, a + (size_t)i * k + (size_t)k0 * mr, 0, bpan, ct, ldt, mv, nv, acc, et, i, j);
                    } else if (mv == mr) {
                        ukr(kb, a + (ptrdiff_t)i * lda + k0, lda, bpan, ct, ldt, mv, nv, acc, et, i, j);
                    } else {
                        for (int p = 0; p < kb; p++)
                            for (int r = 0; r < mr; r++) edge[p * mr + r] = r < mv ? a[(ptrdiff_t)(i + r) * lda + k0 + p] : 0;
                        packed(kb, edge, 0, bpan, ct, ldt, mv, nv, acc, et, i, j);
                    }
                    if (transposed) {
                        for (int q = 0; q < nv; q++) {
                            float *col = c + (ptrdiff_t)(j + q) * ldc + i;
                            for (int r = 0; r < mv; r++) {
                                float v = tile[r * nr + q];
                                if (k0 > 0) v = col[r] + v;
                                if (e) v = epilogue1r(v, e, i + r, j + q, (ptrdiff_t)(j + q) * e->ldr + i + r);
                                col[r] = v;
                            }
                        }
                    }
                }
            }
        }
    }
}

void vfw_gemm_packed(vfw_isa isa, int m, int n, int k, const float *ap, const float *bp, float *c, ptrdiff_t ldc,
                     const vfw_epilogue *epi, vfw_gemm_tuning tuning) {
    gemm_driver(isa, m, n, k, ap, 0, bp, c, ldc, 0, epi, tuning);
}

void vfw_gemm_rows(vfw_isa isa, int m, int n, int k, const float *a, ptrdiff_t lda, const float *bp, float *c, ptrdiff_t ldc,
                   const vfw_epilogue *epi, vfw_gemm_tuning tuning) {
    gemm_driver(isa, m, n, k, a, lda < 1 ? 1 : lda, bp, c, ldc, 0, epi, tuning);
}

void vfw_gemm_rows_transposed(vfw_isa isa, int m, int n, int k, const float *a, ptrdiff_t lda, const float *bp, float *c,
                              ptrdiff_t ldc, const vfw_epilogue *epi, vfw_gemm_tuning tuning) {
    gemm_driver(isa, m, n, k, a, lda < 1 ? 1 : lda, bp, c, ldc, 1, epi, tuning);
}

// MARK: - Transposed store

void vfw_transpose_epilogue(int rows, int cols, const float *src, ptrdiff_t lds, float *dst, ptrdiff_t ldd,
                            const vfw_epilogue *e) {
    // Blocks of 8 rows × 8 columns: reads stay within 8 source lines, writes within 8 destination lines.
    for (int i0 = 0; i0 < rows; i0 += 8) {
        const int ib = rows - i0 < 8 ? rows - i0 : 8;
        for (int j0 = 0; j0 < cols; j0 += 8) {
            const int jb = cols - j0 < 8 ? cols - j0 : 8;
            for (int j = j0; j < j0 + jb; j++) {
                float *d = dst + (ptrdiff_t)j * ldd;
                const float *r = e && e->residual ? e->residual + (ptrdiff_t)j * e->ldr : NULL;
                for (int i = i0; i < i0 + ib; i++) {
                    float v = src[(ptrdiff_t)i * lds + j];
                    if (e) {
                        if (e->row_bias) v += e->row_bias[i];
                        if (e->col_bias) v += e->col_bias[j];
                        if (r) v += r[i];
                        if (e->relu) v = v < 0 ? 0 : v;
                    }
                    d[i] = v;
                }
            }
        }
    }
}
