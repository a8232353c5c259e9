/* proctitle.h: how a runner's processes show in ps and top
 * (runner/proctitle.c). */
#ifndef DT_PROCTITLE_H
#define DT_PROCTITLE_H

void dt__proctitle_init(int argc, char **argv);
void dt__proctitle_set(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif /* DT_PROCTITLE_H */
