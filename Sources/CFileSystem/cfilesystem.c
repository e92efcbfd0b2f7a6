#define _GNU_SOURCE
#include <unistd.h>
#include "cfilesystem.h"

int cfilesystem_syncfs(int fd) {
    return syncfs(fd);
}
