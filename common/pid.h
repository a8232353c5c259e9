/* pid.h: this process's id without a system call per use (common/pid.c).
 *
 * dt__pid() is what getpid() returns, read from a cache that every child
 * of fork() refreshes (a pthread_atfork handler).  A child made by
 * _Fork() or a raw clone() runs no handler and would see its parent's
 * id: dtask's fork-awareness covers fork(), not those. */
#ifndef DT_PID_H
#define DT_PID_H

int dt__pid(void);

#endif /* DT_PID_H */
