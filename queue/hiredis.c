/* hiredis.c: owns the loading of libhiredis for the Redis backend
 * (queue/hiredis.h says why it is loaded late and how it is called).
 *
 * The library is named by the soname of the headers dtask was built
 * with (DT_HIREDIS_SONAME), so the functions found have the types the
 * code was compiled against.  It is loaded
 * once per process, by whichever thread asks first (pthread_once), and
 * never unloaded: replies and contexts made by it may live until the
 * process ends.  A fork keeps it, as it keeps every mapping. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "queue/hiredis.h"

/* The soname of the hiredis whose headers this is compiled with: 1.0 and
 * later say it (HIREDIS_SONAME); before, it was MAJOR.MINOR. */
#define DT__STR_(x) #x
#define DT__STR(x) DT__STR_(x)
#ifdef HIREDIS_SONAME
#define DT_HIREDIS_VERSION DT__STR(HIREDIS_SONAME)
#else
#define DT_HIREDIS_VERSION DT__STR(HIREDIS_MAJOR) "." DT__STR(HIREDIS_MINOR)
#endif
#define DT_HIREDIS_SONAME "libhiredis.so." DT_HIREDIS_VERSION

dt__hiredis dt__hi;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_rc;          /* the outcome of the one load: 0 or -ELIBACC */
static char g_why[256];   /* and, when it failed, why */

/* The one load (pthread_once): fills dt__hi, or g_rc and g_why. */
static void load_once(void) {
  dt__hiredis hi;
  void *lib = dlopen(DT_HIREDIS_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    snprintf(g_why, sizeof g_why,
             "cannot load " DT_HIREDIS_SONAME " (%s): backend = \"redis\" "
             "needs it; install it (Debian: apt-get install libhiredis"
             DT_HIREDIS_VERSION ")",
             dlerror());
    g_rc = -ELIBACC;
    return;
  }
  const char *missing = NULL;
#define DT__HIREDIS_LOAD(f)                                                \
  if (missing == NULL && (hi.f = (__typeof__(f) *)dlsym(lib, #f)) == NULL) \
    missing = #f;
  DT__HIREDIS_API(DT__HIREDIS_LOAD)
#undef DT__HIREDIS_LOAD
  if (missing != NULL) {
    snprintf(g_why, sizeof g_why,
             DT_HIREDIS_SONAME " has no %s: reinstall the libhiredis that "
             "dtask was built with",
             missing);
    dlclose(lib);
    g_rc = -ELIBACC;
    return;
  }
  dt__hi = hi;
}

/* Loads libhiredis into dt__hi, once per process; thread-safe.  Returns
 * 0, or -ELIBACC with a sentence (what to install) in err, errsz bytes,
 * when err is not NULL; every later call gives the same answer. */
int dt__hiredis_load(char *err, size_t errsz) {
  pthread_once(&g_once, load_once);
  if (g_rc != 0 && err != NULL && errsz > 0)
    snprintf(err, errsz, "%s", g_why);
  return g_rc;
}
