/* Core-to-core round trip: two threads pass a counter back and forth through two cache lines.
 * Build and run: cc -O2 -pthread Benchmarks/core-latency.c -o /tmp/core-latency && /tmp/core-latency
 * It is the floor of every hand-over in `nfm train --threads N` (a job's start and end each cross cores). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#define ROUNDS 200000
static _Alignas(64) atomic_long ping;
static _Alignas(64) atomic_long pong;

static void *partner(void *unused) {
    (void)unused;
    for (long i = 1; i <= ROUNDS; i++) {
        while (atomic_load(&ping) != i) {}
        atomic_store(&pong, i);
    }
    return 0;
}

int main(void) {
    pthread_t thread;
    struct timespec start, end;
    pthread_create(&thread, 0, partner, 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 1; i <= ROUNDS; i++) {
        atomic_store(&ping, i);
        while (atomic_load(&pong) != i) {}
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    pthread_join(thread, 0);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("core-to-core round trip: %.0f ns\n", ns / ROUNDS);
    return 0;
}
