// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). Only sgemm and the thread-count control are used.
#include <cblas.h>
