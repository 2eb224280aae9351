// The daemon's heap policy. A long-running agent whose threads allocate in
// bursts (a poll round, a /metrics render of tens of MB) must give memory
// back after each burst, or its RSS ratchets up to the largest burst seen
// times the number of malloc arenas.
#ifndef RIGWATCH_AGENT_COMMON_MEMORY_H_
#define RIGWATCH_AGENT_COMMON_MEMORY_H_

#include <cstddef>

namespace rigwatch {

// Sets glibc malloc's policy for the agent process. Call before any thread
// starts. Uses one arena, and fixes the mmap threshold so that
// large buffers (render bodies, big replies) are always mapped and unmapped
// instead of raising the threshold and staying in the heap.
void ConfigureHeapForDaemon();

// Returns free heap memory to the kernel (malloc_trim). Cheap enough to call
// once per poll round.
void ReleaseFreeHeap();

// Resident set size of this process in bytes, or 0 if unknown.
size_t ResidentBytes();

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_MEMORY_H_
