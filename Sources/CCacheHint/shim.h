/* A hint that the cache line at `address` will be read soon (no effect on any result): the builder's
   gathers issue it for a batch of random rows ahead of decoding the previous batch. Header only. */
static inline void nfm_prefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
