#ifndef CSPAWN_H
#define CSPAWN_H

#include <spawn.h>

// The GNU parts of posix_spawn and pipe2 that Swift's Glibc module does not show (they need _GNU_SOURCE).
int cspawn_pipe_cloexec(int ends[2]);
int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);
int cspawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

#endif
