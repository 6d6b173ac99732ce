// Which instruction sets this CPU and OS can run (CPUID + XGETBV), and the VFW_ISA cap.

#include "vfw_kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

int vfw_isa_supported(vfw_isa isa) {
    if (isa == VFW_ISA_GENERIC) return 1;
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx || !fma) return 0;
    const unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0;  // XMM and YMM state saved by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    if (isa == VFW_ISA_AVX2) return avx2;
    if (isa == VFW_ISA_AVX512) return avx2 && avx512f && (xcr0 & 0xE6) == 0xE6;  // + opmask, ZMM_Hi256, Hi16_ZMM
    return 0;
}
#else
int vfw_isa_supported(vfw_isa isa) { return isa == VFW_ISA_GENERIC; }
#endif

vfw_isa vfw_isa_best(void) {
    static int cached = -1;  // benign race: every thread computes the same value
    if (cached >= 0) return (vfw_isa)cached;
    vfw_isa best = vfw_isa_supported(VFW_ISA_AVX512) ? VFW_ISA_AVX512 : vfw_isa_supported(VFW_ISA_AVX2) ? VFW_ISA_AVX2 : VFW_ISA_GENERIC;
    const char *cap = getenv("VFW_ISA");
    if (cap) {
        vfw_isa want = best;
        if (strcmp(cap, "generic") == 0) want = VFW_ISA_GENERIC;
        else if (strcmp(cap, "avx2") == 0) want = VFW_ISA_AVX2;
        else if (strcmp(cap, "avx512") == 0) want = VFW_ISA_AVX512;
        if (want < best) best = want;
    }
    cached = (int)best;
    return best;
}
