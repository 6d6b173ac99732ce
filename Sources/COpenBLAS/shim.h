// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, pkg-config "openblas").
#include <cblas.h>
// Thread control (OpenBLAS extension, declared in cblas.h of openblas-pthread).
