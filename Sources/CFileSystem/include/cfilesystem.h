#ifndef CFILESYSTEM_H
#define CFILESYSTEM_H

// syncfs(2), which Swift's Glibc module does not show (it needs _GNU_SOURCE).
int cfilesystem_syncfs(int fd);

#endif
