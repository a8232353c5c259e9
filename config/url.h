/* url.h: the address of a Redis server as [queue] url writes it
 * (config/url.c parses it; queue/redis.c connects to it).
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]     TCP, port 6379, db 0
 *   unix://PATH[?db=DB]                            a unix socket, db 0
 *
 * HOST is a name, an IPv4 address, or an IPv6 address in brackets.  A
 * password in the url is allowed only when the config file is not
 * readable by group or others (config/config.c checks); password_file
 * is the better place. */
#ifndef DT_URL_H
#define DT_URL_H

#include "common/error.h"

typedef struct dt__url {
  char host[256]; /* "" for a unix socket; IPv6 without its brackets */
  int port;       /* TCP port; 0 for a unix socket */
  char path[108]; /* the unix socket's path; "" for TCP */
  int db;         /* SELECT db, 0..15 by default Redis; any >= 0 taken */
  char user[128]; /* ACL user, %XX decoded; "" for the default user */
  char pass[256]; /* from the url, %XX decoded; "" when it has none */
} dt__url;

/* Parses s into *out (zeroed on failure).  Returns 0, or -EINVAL with a
 * sentence in err that shows what to write and never repeats s (it may
 * hold a password); line and column are 0, the caller's to set. */
int dt__url_parse(const char *s, dt__url *out, dt__error *err);

#endif /* DT_URL_H */
