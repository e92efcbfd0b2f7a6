#ifndef CALLOCATOR_H
#define CALLOCATOR_H

// mallopt(3)'s M_MMAP_THRESHOLD and M_TRIM_THRESHOLD, which Swift's Glibc module does not show: blocks of up to
// `mmap_threshold` bytes come from malloc's heaps, and up to `trim_threshold` bytes free at a heap's top are kept
// for the next ones. Returns 1 when both were set.
int callocator_keep_buffers(int mmap_threshold, int trim_threshold);

#endif
