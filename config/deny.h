/* deny.h: the symbols dtask itself depends on, which can never be
 * offloaded (config/deny.c). */
#ifndef DT_DENY_H
#define DT_DENY_H

const char *dt__symbol_denied(const char *name);

#endif /* DT_DENY_H */
