/* dlpath.c: owns finding the file a dlopen of a bare name would open
 * for its real caller.
 *
 * glibc searches a bare name with the DT_RPATH/DT_RUNPATH of the object
 * whose code called dlopen, and with $ORIGIN set to that object's
 * directory.  When the shim's dlopen interposer calls the real dlopen,
 * glibc sees the shim as the caller; this file reproduces the search the
 * loader would have made for the program's own object, so that the
 * interposer can hand the real dlopen a path.  It reads the loaded
 * objects' dynamic sections and the file system; it allocates nothing. */
#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/dlpath.h"

/* Appends dir + "/" + file into out if that file exists. */
static bool try_dir(const char *dir, size_t dlen, const char *origin,
                    const char *file, char *out, size_t outsz) {
  char d[PATH_MAX];
  size_t n = 0;
  for (size_t i = 0; i < dlen && n + 1 < sizeof d;) {
    if (strncmp(dir + i, "$ORIGIN", 7) == 0 ||
        strncmp(dir + i, "${ORIGIN}", 9) == 0) {
      size_t skip = dir[i + 1] == '{' ? 9 : 7;
      size_t ol = strlen(origin);
      if (n + ol + 1 >= sizeof d)
        return false;
      memcpy(d + n, origin, ol);
      n += ol;
      i += skip;
    } else if (dir[i] == '$') {
      return false; /* $LIB, $PLATFORM: not expanded here */
    } else {
      d[n++] = dir[i++];
    }
  }
  d[n] = '\0';
  if (snprintf(out, outsz, "%s/%s", n ? d : ".", file) >= (int)outsz)
    return false;
  return access(out, F_OK) == 0;
}

/* Searches a ':'-separated list of directories for file. */
static bool search_list(const char *list, const char *origin, const char *file,
                        char *out, size_t outsz) {
  const char *p = list;
  while (p != NULL && *p != '\0') {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (try_dir(p, len, origin, file, out, outsz))
      return true;
    p = end ? end + 1 : NULL;
  }
  return false;
}

/* Reads DT_RPATH and DT_RUNPATH of a loaded object. */
static void object_paths(const struct link_map *lm, const char **rpath,
                         const char **runpath) {
  const char *strtab = NULL;
  ElfW(Xword) rp = 0, rup = 0;
  bool has_rp = false, has_rup = false;
  *rpath = *runpath = NULL;
  for (const ElfW(Dyn) *d = lm->l_ld; d != NULL && d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_STRTAB)
      strtab = (const char *)d->d_un.d_ptr;
    else if (d->d_tag == DT_RPATH)
      rp = d->d_un.d_val, has_rp = true;
    else if (d->d_tag == DT_RUNPATH)
      rup = d->d_un.d_val, has_rup = true;
  }
  if (strtab == NULL)
    return;
  if ((uintptr_t)strtab < lm->l_addr)
    strtab += lm->l_addr;
  if (has_rp)
    *rpath = strtab + rp;
  if (has_rup)
    *runpath = strtab + rup;
}

/* The directory of a loaded object, for $ORIGIN. */
static void object_origin(const struct link_map *lm, char *out, size_t outsz) {
  char path[PATH_MAX];
  if (lm->l_name != NULL && lm->l_name[0] != '\0') {
    snprintf(path, sizeof path, "%s", lm->l_name);
  } else {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
  }
  char *slash = strrchr(path, '/');
  if (slash != NULL)
    *slash = '\0';
  snprintf(out, outsz, "%s", slash ? path : ".");
}

/* glibc searches a bare name with the RPATH/RUNPATH of the object that
 * called dlopen.  Since the real dlopen sees the shim as its caller,
 * this finds the file the caller's own paths would have found, in the
 * loader's order: caller's DT_RPATH (then the program's, as the loader
 * inherits it) when the caller has no DT_RUNPATH; with a DT_RUNPATH,
 * LD_LIBRARY_PATH first, then DT_RUNPATH.  An object already loaded under
 * that name wins, as it does in the loader.  real_dlopen is the loader's
 * own dlopen (for that check).  Returns the path to open: buf (bufsz
 * bytes, the caller's), or file itself. */
const char *dt__dlopen_path(const char *file, int mode, void *caller,
                            char *buf, size_t bufsz,
                            void *(*real_dlopen)(const char *, int)) {
  Dl_info info;
  struct link_map *lm = NULL;
  const char *rpath, *runpath;
  char origin[PATH_MAX];

  if (file == NULL || strchr(file, '/') != NULL)
    return file;
  if (dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) == 0 || lm == NULL)
    return file;
  object_paths(lm, &rpath, &runpath);
  struct link_map *exe = NULL;
  if (runpath == NULL) {
    for (exe = lm; exe->l_prev != NULL; exe = exe->l_prev)
      ;
  }
  const char *exe_rpath = NULL, *exe_runpath = NULL;
  if (exe != NULL && exe != lm)
    object_paths(exe, &exe_rpath, &exe_runpath);
  if (rpath == NULL && runpath == NULL && exe_rpath == NULL)
    return file;
  void *already = real_dlopen(file, (mode & ~RTLD_NOW) | RTLD_LAZY | RTLD_NOLOAD);
  if (already != NULL) {
    dlclose(already);
    return file;
  }
  object_origin(lm, origin, sizeof origin);
  if (runpath == NULL) {
    if (rpath != NULL && search_list(rpath, origin, file, buf, bufsz))
      return buf;
    if (exe_rpath != NULL && exe_runpath == NULL) {
      char eorigin[PATH_MAX];
      object_origin(exe, eorigin, sizeof eorigin);
      if (search_list(exe_rpath, eorigin, file, buf, bufsz))
        return buf;
    }
    return file;
  }
  const char *llp = getenv("LD_LIBRARY_PATH");
  if (llp != NULL && search_list(llp, origin, file, buf, bufsz))
    return buf;
  if (search_list(runpath, origin, file, buf, bufsz))
    return buf;
  return file;
}
