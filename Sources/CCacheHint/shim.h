/* Hints that the cache line at `address` will be used soon (no effect on any result). Header only.
   `nfm_prefetch_read`: the builder's gathers issue it for a batch of random rows ahead of decoding the
   previous batch; the trainer's Bi-Interaction for the embedding rows of a row ahead.
   `nfm_prefetch_write`: `prefetchw` (the line fetched for ownership, so that the store after it does not
   wait for the other core to give the line up); an ordinary prefetch where the instruction is unknown. */
static inline void nfm_prefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
static inline void nfm_prefetch_write(const void *address) {
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)address));
#else
    __builtin_prefetch(address, 1, 3);
#endif
}
