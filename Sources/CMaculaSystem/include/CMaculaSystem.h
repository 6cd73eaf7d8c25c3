#ifndef C_MACULA_SYSTEM_H
#define C_MACULA_SYSTEM_H

#include <stdint.h>

/// Bytes the C allocator has handed out and not yet taken back (glibc: `mallinfo2`'s
/// `uordblks + hblkhd`). Returns -1 where the allocator does not report it.
int64_t macula_heap_bytes_in_use(void);

/// 1 when this build runs under a sanitizer that replaces the C allocator (ThreadSanitizer,
/// AddressSanitizer): glibc's statistics then report nothing.
int macula_allocator_is_replaced(void);

#endif
