#include "CMaculaSystem.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int64_t macula_heap_bytes_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 info = mallinfo2();
    return (int64_t)(info.uordblks + info.hblkhd);
#else
    return -1;
#endif
}

#if defined(__has_feature)
#  if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#    define MACULA_ALLOCATOR_REPLACED 1
#  endif
#endif

int macula_allocator_is_replaced(void) {
#if defined(MACULA_ALLOCATOR_REPLACED)
    return 1;
#else
    return 0;
#endif
}
