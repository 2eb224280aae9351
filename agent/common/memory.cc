#include "agent/common/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>

namespace rigwatch {

void ConfigureHeapForDaemon() {
#if defined(__GLIBC__)
  // glibc's default is 8 arenas per core; each keeps what its threads freed.
  // The agent's threads mostly hand work to each other (poller -> store
  // writer, rule thread) rather than allocate in parallel: one arena cost no
  // measurable CPU at 10,000 miners and saved ~17 MB.
  mallopt(M_ARENA_MAX, 1);
  // A fixed threshold also switches off glibc's dynamic one, which after
  // the first freed 20 MB render would keep every later one in the heap.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
#endif
}

void ReleaseFreeHeap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

size_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long pages = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &pages, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<size_t>(resident) *
         static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace rigwatch
